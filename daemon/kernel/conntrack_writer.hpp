#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>
#include "core/write_report.hpp"

#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"
#include "kernel/conntrack_codec.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

struct WriterConfig {
  std::size_t batch_messages = 1000;  // netlink messages per sendto
  std::size_t batch_bytes = 256 << 10;
  WriteOptions options;
};

struct MarkFilter {
  std::uint32_t mark = 0;
  std::uint32_t mask = 0xffffffff;
};

// Writes to the kernel's conntrack table through one netlink socket: many requests per
// sendto, each request's result taken from the kernel's error replies (the kernel handles a
// batch synchronously inside sendto, so every reply is queued when it returns). All writes of
// a daemon go through one writer, whose port id marks the events they cause.
class ConntrackWriter {
 public:
  static Result<ConntrackWriter> open(WriterConfig config);

  std::uint32_t port_id() const { return socket_.port_id(); }

  struct Op {
    WriteKind kind;
    const Flow* flow;
  };
  // One request per op, batched; errors[i] is 0 or the kernel's errno for ops[i].
  Result<void> apply(std::span<const Op> ops, std::vector<int>& errors);

  // Makes the kernel hold each flow: creates it, or, when an entry exists, updates it if its
  // NAT binding is the same and replaces it (delete, create) if not.
  Result<void> upsert(std::span<const Flow> flows, std::vector<WriteResult>& results);

  // Removes entries; a missing entry is not an error.
  Result<void> remove(std::span<const FlowKey> keys, std::vector<int>& errors);

  // Reads one entry by its original tuple and zone; nullopt when the kernel has none.
  Result<std::optional<Flow>> get(const FlowKey& key);

  // Deletes every entry, or those whose mark matches.
  Result<void> flush(std::optional<MarkFilter> filter);

 private:
  explicit ConntrackWriter(NetlinkSocket socket, WriterConfig config)
      : socket_(std::move(socket)), config_(config) {}
  struct Request {
    std::uint16_t type;
    std::uint16_t flags;
    WriteKind kind;
    const Flow* flow;
  };
  // Sends requests in batches; errors[i] gets the error of requests[i]; replies carrying an
  // entry (GET) are decoded into found[i] when `found` is given.
  Result<void> run(std::span<const Request> requests, std::vector<int>& errors,
                   std::vector<std::optional<Flow>>* found);

  NetlinkSocket socket_;
  WriterConfig config_;
  std::vector<char> buffer_;
  std::uint32_t next_seq_ = 1;
};

}  // namespace ctsync

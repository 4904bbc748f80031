#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"
#include "kernel/conntrack_writer.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

struct DumpFilter {
  std::optional<MarkFilter> mark;     // applied by the kernel
  std::optional<std::uint16_t> zone;  // applied here: older kernels ignore zone filters
};

// Streams the whole table (both families) as Flows, a chunk at a time, so the caller's event
// loop keeps running during a dump of a million entries and the table is never held twice.
class ConntrackDump {
 public:
  static Result<ConntrackDump> open();

  int fd() const { return socket_.fd(); }

  Result<void> start(const DumpFilter& filter);
  bool running() const { return running_; }

  // Counters are zero unless nf_conntrack_acct is on.
  using Handler = std::function<void(const Flow&, const FlowCounters&)>;
  // Reads up to `max_reads` chunks; returns true when the dump is complete.
  Result<bool> read_some(const Handler& on_flow, std::size_t max_reads);
  // Runs a whole dump to completion, blocking.
  Result<std::size_t> run(const DumpFilter& filter, const Handler& on_flow);

 private:
  explicit ConntrackDump(NetlinkSocket s) : socket_(std::move(s)) {}
  NetlinkSocket socket_;
  DumpFilter filter_;
  bool running_ = false;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <functional>

#include "ctsync/expectation.hpp"
#include "ctsync/result.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

// The kernel's expectation NEW and DESTROY events, on their own socket. An overrun is
// reported, never swallowed: the caller re-reads the table with a dump.
class ExpectationEvents {
 public:
  // `ignore_port_id`: events our own requests cause (a commit's creations) never arrive.
  static Result<ExpectationEvents> open(std::uint32_t ignore_port_id);

  int fd() const { return socket_.fd(); }

  struct ReadResult {
    std::size_t events = 0;
    std::size_t undecodable = 0;
    bool overrun = false;
  };
  using Handler = std::function<void(bool created, const Expectation&)>;
  // Reads everything queued, without blocking.
  ReadResult read(const Handler& on_event);

 private:
  explicit ExpectationEvents(NetlinkSocket s) : socket_(std::move(s)) {}
  NetlinkSocket socket_;
  std::vector<char> buffer_;
};

}  // namespace ctsync

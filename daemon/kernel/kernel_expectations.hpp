#pragma once
#include <vector>

#include "ctsync/expectation.hpp"
#include "ctsync/result.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

// The kernel's expectation table, by request: dump, create, delete. Synchronous, one
// acknowledged request at a time: a table holds a handful of expectations, not thousands.
class KernelExpectations {
 public:
  static Result<KernelExpectations> open();

  Result<std::vector<Expectation>> dump();
  // Creates `e` under its master, which must exist and carry the helper; an expectation
  // already there counts as created.
  Result<void> create(const Expectation& e);
  // Deletes it; one already gone counts as deleted.
  Result<void> remove(const ExpectationKey& key);

  std::uint32_t port_id() const { return socket_.port_id(); }

 private:
  explicit KernelExpectations(NetlinkSocket s) : socket_(std::move(s)) {}

  NetlinkSocket socket_;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace ctsync

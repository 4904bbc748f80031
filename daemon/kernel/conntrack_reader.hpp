#pragma once
#include <optional>
#include <vector>

#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

// Reads single entries by key (IPCTNL_MSG_CT_GET), for state the kernel changes without an
// event: a NAT helper's sequence adjustment, for one.
class ConntrackReader {
 public:
  static Result<ConntrackReader> open();

  // The entry, or nothing when the kernel has none with this key.
  Result<std::optional<Flow>> get(const FlowKey& key);

 private:
  explicit ConntrackReader(NetlinkSocket s) : socket_(std::move(s)) {}
  NetlinkSocket socket_;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace ctsync

#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ctsync/result.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace ctsync {

// One NETLINK_NETFILTER socket (libmnl), owned. Events, dumps and writes each use their own,
// so a large write never queues behind a dump and our own writes can be filtered by port id.
class NetlinkSocket {
 public:
  static Result<NetlinkSocket> open(unsigned groups, const std::string& purpose);
  NetlinkSocket() = default;
  NetlinkSocket(NetlinkSocket&& o) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& o) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  int fd() const;
  explicit operator bool() const { return nl_ != nullptr; }
  std::uint32_t port_id() const;
  const std::string& purpose() const { return purpose_; }

  // Receive buffer in bytes; beyond rmem_max with CAP_NET_ADMIN. Returns the size granted.
  Result<int> set_receive_buffer(int bytes);
  Result<int> receive_buffer() const;
  Result<void> set_send_buffer(int bytes);
  // Drops, inside the kernel, every message whose sender port id is `port_id` (events our
  // own writes caused), so they never take room in this socket's buffer.
  Result<void> ignore_messages_from(std::uint32_t port_id);
  Result<void> set_option(int level, int name, int value, const char* what);

  Result<void> send(const void* data, std::size_t len);
  Result<void> wait_readable(int timeout_ms);
  // Non-blocking receive; returns 0 when nothing is queued, -ENOBUFS-style errors as Error.
  Result<std::size_t> receive(void* buf, std::size_t len, bool wait);

  // Sends one request and reads its answers (libmnl's mnl_cb_run) until the kernel's
  // acknowledgement or the end of a dump, giving each data message to `on_message`. A refusal
  // comes back as an Error naming `operation` ("get", "expectation create") and the errno.
  using MessageHandler = std::function<void(const nlmsghdr*)>;
  Result<void> request(const nlmsghdr* request, std::vector<char>& buffer, const char* operation,
                       const MessageHandler& on_message = {});

 private:
  mnl_socket* nl_ = nullptr;
  std::string purpose_;
};

}  // namespace ctsync

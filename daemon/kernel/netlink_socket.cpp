#include "kernel/netlink_socket.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ctsync {

namespace {
// The packaged service runs unprivileged but for one capability: an EPERM names it, so an
// operator who trimmed the unit's capabilities knows what to put back.
Error netlink_error(const std::string& what, int e) {
  return make_error(what + ": " + std::strerror(e) + (e == EPERM ? " (needs CAP_NET_ADMIN)" : ""),
                    e);
}
Error errno_error(const std::string& what) {
  return netlink_error(what, errno);
}
}  // namespace

Result<NetlinkSocket> NetlinkSocket::open(unsigned groups, const std::string& purpose) {
  NetlinkSocket s;
  s.purpose_ = purpose;
  s.nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (s.nl_ == nullptr) return errno_error("ctnetlink " + purpose + " socket");
  if (mnl_socket_bind(s.nl_, groups, MNL_SOCKET_AUTOPID) < 0) {
    return errno_error("ctnetlink " + purpose + " socket bind");
  }
  return s;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& o) noexcept
    : nl_(std::exchange(o.nl_, nullptr)), purpose_(std::move(o.purpose_)) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& o) noexcept {
  if (this != &o) {
    if (nl_) mnl_socket_close(nl_);
    nl_ = std::exchange(o.nl_, nullptr);
    purpose_ = std::move(o.purpose_);
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (nl_) mnl_socket_close(nl_);
}

int NetlinkSocket::fd() const {
  return mnl_socket_get_fd(nl_);
}
std::uint32_t NetlinkSocket::port_id() const {
  return mnl_socket_get_portid(nl_);
}

Result<void> NetlinkSocket::set_option(int level, int name, int value, const char* what) {
  if (::setsockopt(fd(), level, name, &value, sizeof value) != 0) {
    return errno_error("ctnetlink " + purpose_ + " socket " + what);
  }
  return {};
}

Result<int> NetlinkSocket::set_receive_buffer(int bytes) {
  // The kernel doubles the value it is given; ask for half so `bytes` is what we get.
  const int half = bytes / 2;
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0 &&
      ::setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &half, sizeof half) != 0) {
    return errno_error("ctnetlink " + purpose_ + " socket receive buffer");
  }
  return receive_buffer();
}

Result<int> NetlinkSocket::receive_buffer() const {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &v, &len) != 0) {
    return errno_error("ctnetlink " + purpose_ + " socket receive buffer");
  }
  return v;
}

Result<void> NetlinkSocket::set_send_buffer(int bytes) {
  const int half = bytes / 2;
  if (::setsockopt(fd(), SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof half) != 0 &&
      ::setsockopt(fd(), SOL_SOCKET, SO_SNDBUF, &half, sizeof half) != 0) {
    return errno_error("ctnetlink " + purpose_ + " socket send buffer");
  }
  return {};
}

Result<void> NetlinkSocket::ignore_messages_from(std::uint32_t port_id) {
  // nlmsg_pid sits at byte 12 of every message; BPF loads words big-endian.
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(port_id), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  if (::setsockopt(fd(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    return errno_error("ctnetlink " + purpose_ + " socket filter");
  }
  return {};
}

Result<void> NetlinkSocket::send(const void* data, std::size_t len) {
  if (mnl_socket_sendto(nl_, data, len) < 0) return errno_error("ctnetlink " + purpose_ + " send");
  return {};
}

Result<std::size_t> NetlinkSocket::receive(void* buf, std::size_t len, bool wait) {
  for (;;) {
    const ssize_t n = ::recv(fd(), buf, len, wait ? 0 : MSG_DONTWAIT);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait) return std::size_t{0};
      if (auto r = wait_readable(5000); !r) return r.error();
      continue;
    }
    return errno_error("ctnetlink " + purpose_ + " receive");
  }
}

namespace {
int deliver(const nlmsghdr* nlh, void* data) {
  const auto& handler = *static_cast<const NetlinkSocket::MessageHandler*>(data);
  if (handler) handler(nlh);
  return MNL_CB_OK;
}
}  // namespace

Result<void> NetlinkSocket::request(const nlmsghdr* request, std::vector<char>& buffer,
                                    const char* operation, const MessageHandler& on_message) {
  if (auto r = send(request, request->nlmsg_len); !r) return r;
  for (;;) {
    auto n = receive(buffer.data(), buffer.size(), true);
    if (!n) return n.error();
    const int r = mnl_cb_run(buffer.data(), *n, request->nlmsg_seq, port_id(), deliver,
                             const_cast<MessageHandler*>(&on_message));
    if (r == MNL_CB_OK) continue;  // a dump's next part, or the ack still to come
    if (r == MNL_CB_STOP) return {};
    return netlink_error(std::string("ctnetlink ") + operation, errno);
  }
}

Result<void> NetlinkSocket::wait_readable(int timeout_ms) {
  pollfd p{fd(), POLLIN, 0};
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return {};
    if (r == 0) {
      return make_error("ctnetlink " + purpose_ + ": no answer from the kernel in " +
                            std::to_string(timeout_ms) + " ms",
                        ETIMEDOUT);
    }
    if (errno != EINTR) return errno_error("ctnetlink " + purpose_ + " poll");
  }
}

}  // namespace ctsync

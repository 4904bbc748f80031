#include "net/sync_transport.hpp"

#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>

namespace ctsync {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

asio::ip::address to_asio(Family family, const IpAddress& a) {
  if (family == Family::ipv4) {
    return asio::ip::address_v4({a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]});
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes.data(), 16);
  return asio::ip::address_v6(b);
}

Error sock_error(const std::string& what, const std::string& where) {
  const int e = errno;
  return make_error(what + " (" + where + "): " + std::strerror(e), e);
}

}  // namespace

SyncTransport::SyncTransport(asio::io_context& io, TransportConfig config,
                             const DatagramSealer& sealer, SyncCounters& counters)
    : socket_(io), config_(std::move(config)), sealer_(sealer), counters_(counters) {
  slots_.reset(new char[batch * slot_bytes]);
  messages_.resize(batch);
  iovecs_.resize(batch);
  for (std::size_t i = 0; i < batch; ++i) {
    iovecs_[i] = {slots_.get() + i * slot_bytes, slot_bytes};
    messages_[i].msg_hdr = {};
    messages_[i].msg_hdr.msg_iov = &iovecs_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
}

Result<std::unique_ptr<SyncTransport>> SyncTransport::open(asio::io_context& io,
                                                           const TransportConfig& config,
                                                           const DatagramSealer& sealer,
                                                           SyncCounters& counters) {
  std::unique_ptr<SyncTransport> t(new SyncTransport(io, config, sealer, counters));
  if (auto r = t->setup(); !r) return r.error();
  return t;
}

std::string SyncTransport::describe() const {
  if (config_.multicast) {
    const auto& m = *config_.multicast;
    const std::string addr = to_string(m.family, m.address);
    return "multicast " + (m.family == Family::ipv6 ? "[" + addr + "]" : addr) + ":" +
           std::to_string(config_.port) + " on " + config_.interface;
  }
  std::string s = "unicast port " + std::to_string(config_.port) + " to";
  for (const auto& p : config_.peers)
    s += " " + to_string(p.family, p.address) + ":" + std::to_string(p.port);
  return s;
}

Result<void> SyncTransport::setup() {
  const std::string where = describe();
  Family family;
  if (config_.multicast) {
    family = config_.multicast->family;
  } else if (!config_.peers.empty()) {
    family = config_.peers.front().family;
    for (const auto& p : config_.peers) {
      if (p.family != family) return make_error("sync peers mix IPv4 and IPv6 (" + where + ")");
    }
  } else {
    return make_error("sync transport has neither a multicast group nor unicast peers");
  }
  boost::system::error_code ec;
  socket_.open(family == Family::ipv4 ? udp::v4() : udp::v6(), ec);
  if (ec) return make_error("cannot open UDP socket (" + where + "): " + ec.message());
  const int fd = socket_.native_handle();
  const int one = 1, zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == Family::ipv6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // FORCE variants go beyond rmem_max/wmem_max (we hold CAP_NET_ADMIN); fall back otherwise.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &config_.receive_buffer, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &config_.receive_buffer, sizeof(int));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &config_.send_buffer, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &config_.send_buffer, sizeof(int));
  }

  unsigned ifindex = 0;
  if (!config_.interface.empty()) {
    ifindex = ::if_nametoindex(config_.interface.c_str());
    if (ifindex == 0)
      return sock_error("sync interface " + config_.interface + " not found", where);
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, config_.interface.c_str(),
                     static_cast<socklen_t>(config_.interface.size())) != 0) {
      return sock_error("cannot bind to interface " + config_.interface, where);
    }
  }

  udp::endpoint local(family == Family::ipv4 ? asio::ip::address(asio::ip::address_v4::any())
                                             : asio::ip::address(asio::ip::address_v6::any()),
                      config_.port);
  if (!config_.multicast && config_.bind)
    local.address(to_asio(config_.bind->family, config_.bind->address));
  socket_.bind(local, ec);
  if (ec)
    return make_error("cannot bind UDP port " + std::to_string(config_.port) + " (" + where +
                      "): " + ec.message());

  if (config_.multicast) {
    if (ifindex == 0) return make_error("multicast needs a sync interface (" + where + ")");
    const auto& g = *config_.multicast;
    if (family == Family::ipv4) {
      ip_mreqn mreq{};
      std::memcpy(&mreq.imr_multiaddr, g.address.bytes.data(), 4);
      mreq.imr_ifindex = static_cast<int>(ifindex);
      if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        return sock_error("cannot join multicast group", where);
      }
      if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0) {
        return sock_error("cannot select the multicast interface", where);
      }
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &one, sizeof one);
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero);
    } else {
      ipv6_mreq mreq{};
      std::memcpy(&mreq.ipv6mr_multiaddr, g.address.bytes.data(), 16);
      mreq.ipv6mr_interface = ifindex;
      if (::setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        return sock_error("cannot join multicast group", where);
      }
      if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0) {
        return sock_error("cannot select the multicast interface", where);
      }
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &one, sizeof one);
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero);
    }
    auto group = to_asio(g.family, g.address);
    if (group.is_v6() && group.to_v6().is_multicast_link_local()) {
      auto v6 = group.to_v6();
      v6.scope_id(ifindex);
      group = v6;
    }
    destinations_.emplace_back(group, config_.port);
  } else {
    for (const auto& p : config_.peers)
      destinations_.emplace_back(to_asio(p.family, p.address), p.port);
  }
  socket_.non_blocking(true, ec);
  return {};
}

std::size_t SyncTransport::max_plaintext() const {
  const bool v6 = (config_.multicast ? config_.multicast->family : config_.peers.front().family) ==
                  Family::ipv6;
  const std::size_t ip_udp = (v6 ? 40 : 20) + 8;
  return config_.mtu - ip_udp - DatagramSealer::overhead;
}

void SyncTransport::start(Handler handler) {
  handler_ = std::move(handler);
  receive_next();
}

void SyncTransport::receive_next() {
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) drain();
    receive_next();
  });
}

void SyncTransport::drain() {
  // A few batches per wakeup, then back to the loop: kernel events get their turn during a
  // burst, and what is left is still readable.
  for (int round = 0; round < 8; ++round) {
    const int n =
        ::recvmmsg(socket_.native_handle(), messages_.data(), batch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // drained, or an error the next wakeup reports afresh
    for (int i = 0; i < n; ++i) {
      deliver({slots_.get() + static_cast<std::size_t>(i) * slot_bytes, messages_[i].msg_len});
    }
    if (static_cast<std::size_t>(n) < batch) return;
  }
}

void SyncTransport::deliver(std::string_view datagram) {
  const auto opened = sealer_.open(datagram, plaintext_);
  if (opened.dropped) {
    counters_.datagrams_received += 1;
    counters_.datagram_bytes_received += datagram.size();
    counters_.drop(*opened.dropped);
  } else {
    if (opened.sealing == Sealing::raw_key) counters_.legacy_sealed_received += 1;
    handler_(plaintext_);
  }
}

void SyncTransport::send(const std::vector<std::string>& plaintexts, Sealing sealing) {
  if (sealer_.sealing_for(sealing) == Sealing::raw_key)
    counters_.legacy_sealed_sent += plaintexts.size();
  batch_.clear();
  sizes_.clear();
  for (const auto& p : plaintexts) {
    sealer_.seal(p, sealed_, sealing);
    batch_ += sealed_;
    sizes_.push_back(sealed_.size());
  }
  // The kernel takes up to 64 segments of one size, the last one possibly shorter, in at
  // most 64 KiB. Only full-size datagrams (a bulk's, padded) go that way: interface counters
  // count a segmented send's headers once, and the live stream's bytes are a measure that
  // operators (and our benchmark) read from them.
  constexpr std::size_t max_segments = 64, max_bytes = 65000;
  const std::size_t full = max_plaintext() + DatagramSealer::overhead;
  for (const auto& dest : destinations_) {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < sizes_.size();) {
      const std::size_t segment = sizes_[i];
      std::size_t j = i + 1, bytes = segment;
      while (j < sizes_.size() && sizes_[j] == segment && j - i < max_segments &&
             bytes + segment <= max_bytes) {
        bytes += sizes_[j++];
      }
      if (j < sizes_.size() && sizes_[j] < segment && j - i < max_segments &&
          bytes + sizes_[j] <= max_bytes) {
        bytes += sizes_[j++];
      }
      const char* data = batch_.data() + offset;
      if (j - i < 2 || segment != full || segmentation_refused_ ||
          !send_segments(dest, data, bytes, segment)) {
        for (std::size_t k = i, at = 0; k < j; at += sizes_[k++]) {
          boost::system::error_code ec;
          socket_.send_to(asio::buffer(data + at, sizes_[k]), dest, 0, ec);
          if (ec) send_errors_ += 1;  // a lost datagram is the reliability layer's job
        }
      } else {
        segmented_sends_ += j - i;
      }
      offset += bytes;
      i = j;
    }
  }
}

bool SyncTransport::send_segments(const udp::endpoint& dest, const char* data, std::size_t bytes,
                                  std::size_t segment) {
  iovec iov{const_cast<char*>(data), bytes};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(dest.data());
  msg.msg_namelen = static_cast<socklen_t>(dest.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto size = static_cast<std::uint16_t>(segment);
  std::memcpy(CMSG_DATA(c), &size, sizeof size);
  if (::sendmsg(socket_.native_handle(), &msg, 0) == static_cast<ssize_t>(bytes)) return true;
  // EIO / EINVAL: the device (no checksum offload) or the kernel cannot segment; stop asking.
  if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) segmentation_refused_ = true;
  return false;  // sent again one by one; a full buffer (EAGAIN) loses them there as before
}

void SyncTransport::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace ctsync

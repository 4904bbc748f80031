#pragma once
// client ── lan ── fw ── wan ── server, IPv4 and IPv6, fw forwarding between them. Tests put
// their own nftables ruleset on fw and open connections from the test process itself (it
// enters client/server to create sockets there).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "netns.hpp"

namespace ctsync::test {

class RoutedTopology {
 public:
  Namespace client{"cl"}, fw{"fw"}, server{"sv"};

  RoutedTopology() {
    for (const Namespace* ns : {&client, &fw, &server}) {
      ns->must("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    }
    veth(client, "eth0", fw, "lan");
    veth(fw, "wan", server, "eth0");
    client.must("ip addr add 10.1.0.2/24 dev eth0 && ip addr add fd01::2/64 dev eth0 nodad");
    client.must("ip route add default via 10.1.0.1 && ip -6 route add default via fd01::1");
    fw.must("ip addr add 10.1.0.1/24 dev lan && ip addr add fd01::1/64 dev lan nodad");
    fw.must("ip addr add 10.2.0.1/24 dev wan && ip addr add fd02::1/64 dev wan nodad");
    server.must("ip addr add 10.2.0.2/24 dev eth0 && ip addr add fd02::2/64 dev eth0 nodad");
    server.must("ip addr add 10.2.0.3/24 dev eth0 && ip addr add fd02::3/64 dev eth0 nodad");
    server.must("ip route add default via 10.2.0.1 && ip -6 route add default via fd02::1");
    fw.must("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
  }

  void ruleset(const std::string& nft) const {
    const std::string path = "/tmp/" + fw.name() + ".nft";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(nft.c_str(), f);
    std::fclose(f);
    fw.must("nft -f " + path);
    std::remove(path.c_str());
  }
};

// A socket created inside a namespace (it stays there).
inline int socket_in(const Namespace& ns, int family, int type) {
  EnterNamespace in(ns);
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket in " + ns.name());
  return fd;
}

inline sockaddr_storage endpoint(const std::string& addr, int port) {
  sockaddr_storage ss{};
  if (addr.find(':') == std::string::npos) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, addr.c_str(), &s->sin_addr);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET6, addr.c_str(), &s->sin6_addr);
  }
  return ss;
}

inline socklen_t endpoint_len(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

// A TCP connection client -> server established through fw, with data both ways.
struct TcpSession {
  int listener = -1, client = -1, server = -1;
  int client_port = 0;
  ~TcpSession() {
    for (int fd : {listener, client, server}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

inline void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// listen_addr: where the server listens; dial_addr: what the client connects to (differs
// under DNAT).
inline void open_tcp(TcpSession& s, const RoutedTopology& t, const std::string& listen_addr,
                     const std::string& dial_addr, int port) {
  const int family = listen_addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
  s.listener = socket_in(t.server, family, SOCK_STREAM);
  const int one = 1;
  ::setsockopt(s.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto la = endpoint(listen_addr, port);
  if (::bind(s.listener, reinterpret_cast<sockaddr*>(&la), endpoint_len(la)) != 0 ||
      ::listen(s.listener, 8) != 0) {
    throw std::runtime_error("listen " + listen_addr + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  s.client = socket_in(t.client, family, SOCK_STREAM);
  set_timeouts(s.client, 3000);
  set_timeouts(s.listener, 3000);
  auto da = endpoint(dial_addr, port);
  if (::connect(s.client, reinterpret_cast<sockaddr*>(&da), endpoint_len(da)) != 0) {
    throw std::runtime_error("connect " + dial_addr + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  s.server = ::accept(s.listener, nullptr, nullptr);
  if (s.server < 0) throw std::runtime_error("accept: " + std::string(std::strerror(errno)));
  set_timeouts(s.server, 3000);
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  ::getsockname(s.client, reinterpret_cast<sockaddr*>(&local), &len);
  s.client_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
}

// True when a message travels client -> server and back.
inline bool round_trip(const TcpSession& s) {
  char buf[16] = "ping";
  if (::send(s.client, buf, 4, MSG_NOSIGNAL) != 4) return false;
  if (::recv(s.server, buf, sizeof buf, 0) != 4) return false;
  if (::send(s.server, "pong", 4, MSG_NOSIGNAL) != 4) return false;
  return ::recv(s.client, buf, sizeof buf, 0) == 4;
}

// One UDP exchange client -> server -> client; returns the client's local port.
inline int udp_exchange(const RoutedTopology& t, const std::string& listen_addr,
                        const std::string& dial_addr, int port) {
  const int family = listen_addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
  const int srv = socket_in(t.server, family, SOCK_DGRAM);
  const int cli = socket_in(t.client, family, SOCK_DGRAM);
  set_timeouts(srv, 2000);
  set_timeouts(cli, 2000);
  auto la = endpoint(listen_addr, port);
  ::bind(srv, reinterpret_cast<sockaddr*>(&la), endpoint_len(la));
  auto da = endpoint(dial_addr, port);
  ::sendto(cli, "q", 1, 0, reinterpret_cast<sockaddr*>(&da), endpoint_len(da));
  char buf[8];
  sockaddr_storage from{};
  socklen_t fl = sizeof from;
  const ssize_t n = ::recvfrom(srv, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
  if (n > 0) ::sendto(srv, "a", 1, 0, reinterpret_cast<sockaddr*>(&from), fl);
  ::recv(cli, buf, sizeof buf, 0);
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  ::getsockname(cli, reinterpret_cast<sockaddr*>(&local), &len);
  ::close(srv);
  ::close(cli);
  return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
}

}  // namespace ctsync::test

#pragma once
// Live sessions between the client and the server namespaces, opened from the test process:
// long-lived TCP connections and UDP flows, and concurrent checks that each one still passes
// data both ways.
#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "routed_topology.hpp"

namespace ctsync::test {

using SteadyClock = std::chrono::steady_clock;

struct TcpPair {
  int client = -1, server = -1;
  std::string label;
};

struct UdpPair {
  int client = -1, server = -1;
  sockaddr_storage client_seen{};  // the client's address as the server sees it (after NAT)
  socklen_t client_seen_len = 0;
  std::string label;
};

// How each session fared in one check: seconds from the reference time to its first
// complete round trip, or nothing if it never completed.
struct CheckReport {
  std::vector<std::optional<double>> seconds;
  std::size_t passed() const {
    std::size_t n = 0;
    for (const auto& s : seconds) n += s.has_value();
    return n;
  }
  double worst() const {
    double w = 0;
    for (const auto& s : seconds) {
      if (s) w = std::max(w, *s);
    }
    return w;
  }
};

inline void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

class SessionPool {
 public:
  SessionPool(const Namespace& client, const Namespace& server)
      : client_(client), server_(server) {}
  ~SessionPool() {
    for (auto& t : tcp_) {
      ::close(t.client);
      ::close(t.server);
    }
    for (auto& u : udp_) {
      ::close(u.client);
      ::close(u.server);
    }
    for (int l : listeners_) ::close(l);
  }

  // n TCP connections from the client to server_addr:port (one listener, n accepts).
  void open_tcp(std::size_t n, const std::string& server_addr, int port) {
    const int family = server_addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
    const int l = socket_in(server_, family, SOCK_STREAM);
    const int one = 1;
    ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto sa = endpoint(server_addr, port);
    if (::bind(l, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0 ||
        ::listen(l, 128) != 0) {
      throw std::runtime_error("listen on " + server_addr);
    }
    listeners_.push_back(l);
    set_timeouts(l, 5000);
    for (std::size_t i = 0; i < n; ++i) {
      TcpPair p;
      p.client = socket_in(client_, family, SOCK_STREAM);
      set_timeouts(p.client, 5000);
      if (::connect(p.client, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0) {
        throw std::runtime_error("connect to " + server_addr + ": " + std::strerror(errno));
      }
      p.server = ::accept(l, nullptr, nullptr);
      if (p.server < 0) throw std::runtime_error("accept");
      set_nonblocking(p.client);
      set_nonblocking(p.server);
      p.label = "tcp " + server_addr + " #" + std::to_string(i);
      tcp_.push_back(p);
    }
  }

  // n UDP flows, each client socket to its own server port (distinct conntrack entries); the
  // first exchange lets the server learn the client's (NATed) address.
  void open_udp(std::size_t n, const std::string& server_addr, int first_port) {
    const int family = server_addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
    for (std::size_t i = 0; i < n; ++i) {
      UdpPair u;
      u.server = socket_in(server_, family, SOCK_DGRAM);
      auto sa = endpoint(server_addr, first_port + static_cast<int>(i));
      if (::bind(u.server, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0)
        throw std::runtime_error("udp bind");
      u.client = socket_in(client_, family, SOCK_DGRAM);
      if (::connect(u.client, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0)
        throw std::runtime_error("udp connect");
      set_timeouts(u.server, 3000);
      set_timeouts(u.client, 3000);
      ::send(u.client, "hello", 5, 0);
      char buf[64];
      u.client_seen_len = sizeof u.client_seen;
      if (::recvfrom(u.server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&u.client_seen),
                     &u.client_seen_len) <= 0) {
        throw std::runtime_error("udp first datagram lost");
      }
      ::sendto(u.server, "welcome", 7, 0, reinterpret_cast<sockaddr*>(&u.client_seen),
               u.client_seen_len);
      if (::recv(u.client, buf, sizeof buf, 0) <= 0) throw std::runtime_error("udp reply lost");
      set_nonblocking(u.client);
      set_nonblocking(u.server);
      u.label = "udp " + server_addr + ":" + std::to_string(first_port + static_cast<int>(i));
      udp_.push_back(u);
    }
  }

  // Every TCP session: one side sends, the other must receive and answer, and the answer
  // must arrive; all sessions at once, until `deadline` after `since`. server_first: the
  // server speaks first (what exposes the takeover race). `reset` counts sessions that were
  // torn down (a reset from a firewall that did not know them).
  CheckReport tcp_round_trips(SteadyClock::time_point since, std::chrono::milliseconds deadline,
                              bool server_first = false, std::size_t* reset = nullptr) {
    CheckReport rep;
    rep.seconds.assign(tcp_.size(), std::nullopt);
    std::vector<int> stage(tcp_.size(), 0);  // 0 sent, 1 answered, 2 done, 3 reset
    auto opener = [&](const TcpPair& t) { return server_first ? t.server : t.client; };
    auto answerer = [&](const TcpPair& t) { return server_first ? t.client : t.server; };
    for (auto& t : tcp_) ::send(opener(t), "ping", 4, MSG_NOSIGNAL);
    const auto end = since + deadline;
    char buf[256];
    while (SteadyClock::now() < end) {
      std::vector<pollfd> fds;
      std::vector<std::size_t> who;
      std::vector<int> watch_reset;  // sessions whose opener may have been reset meanwhile
      for (std::size_t i = 0; i < tcp_.size(); ++i) {
        if (stage[i] == 0) fds.push_back({answerer(tcp_[i]), POLLIN, 0});
        if (stage[i] == 1) fds.push_back({opener(tcp_[i]), POLLIN, 0});
        if (stage[i] < 2) who.push_back(i);
      }
      if (fds.empty()) break;
      const std::size_t answer_fds = fds.size();
      for (std::size_t i = 0; i < tcp_.size(); ++i) {
        if (stage[i] == 0) {
          fds.push_back({opener(tcp_[i]), 0, 0});  // POLLERR/POLLHUP only: a reset
          watch_reset.push_back(static_cast<int>(i));
        }
      }
      ::poll(fds.data(), fds.size(), 20);
      for (std::size_t k = answer_fds; k < fds.size(); ++k) {
        const auto i = static_cast<std::size_t>(watch_reset[k - answer_fds]);
        if (fds[k].revents & (POLLERR | POLLHUP)) stage[i] = 3;
      }
      for (std::size_t k = 0; k < answer_fds; ++k) {
        const std::size_t i = who[k];
        if (stage[i] == 3) continue;
        if (!(fds[k].revents & (POLLIN | POLLERR | POLLHUP))) continue;
        const int fd = stage[i] == 0 ? answerer(tcp_[i]) : opener(tcp_[i]);
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          stage[i] = 3;
          continue;
        }
        if (n < 0) continue;
        if (stage[i] == 0) {
          ::send(fd, "pong", 4, MSG_NOSIGNAL);
          stage[i] = 1;
        } else {
          stage[i] = 2;
          rep.seconds[i] = std::chrono::duration<double>(SteadyClock::now() - since).count();
        }
      }
    }
    if (reset) *reset = static_cast<std::size_t>(std::count(stage.begin(), stage.end(), 3));
    return rep;
  }

  // Every UDP flow, server first: the server sends to the client's address it learned before
  // (every 100 ms until it arrives); the client must receive it without having sent anything,
  // then answers, and the answer must reach the server from the same (NATed) address.
  CheckReport udp_server_first(SteadyClock::time_point since, std::chrono::milliseconds deadline,
                               std::size_t* moved_source = nullptr) {
    CheckReport rep;
    rep.seconds.assign(udp_.size(), std::nullopt);
    std::vector<int> stage(udp_.size(), 0);
    std::vector<SteadyClock::time_point> last_send(udp_.size());
    const auto end = since + deadline;
    char buf[256];
    std::size_t moved = 0;
    while (SteadyClock::now() < end) {
      bool open = false;
      for (std::size_t i = 0; i < udp_.size(); ++i) {
        auto& u = udp_[i];
        if (stage[i] == 0 && SteadyClock::now() - last_send[i] > std::chrono::milliseconds(100)) {
          ::sendto(u.server, "server-first", 12, 0, reinterpret_cast<sockaddr*>(&u.client_seen),
                   u.client_seen_len);
          last_send[i] = SteadyClock::now();
        }
        if (stage[i] == 0 && ::recv(u.client, buf, sizeof buf, 0) > 0) {
          ::send(u.client, "client-reply", 12, 0);
          stage[i] = 1;
        }
        if (stage[i] == 1) {
          sockaddr_storage from{};
          socklen_t fl = sizeof from;
          if (::recvfrom(u.server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl) >
              0) {
            if (fl != u.client_seen_len || std::memcmp(&from, &u.client_seen, fl) != 0) ++moved;
            stage[i] = 2;
            rep.seconds[i] = std::chrono::duration<double>(SteadyClock::now() - since).count();
          }
        }
        open = open || stage[i] < 2;
      }
      if (!open) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (moved_source) *moved_source = moved;
    return rep;
  }

  std::size_t tcp_count() const { return tcp_.size(); }
  const std::vector<TcpPair>& tcp() const { return tcp_; }
  std::size_t udp_count() const { return udp_.size(); }

 private:
  const Namespace& client_;
  const Namespace& server_;
  std::vector<TcpPair> tcp_;
  std::vector<UdpPair> udp_;
  std::vector<int> listeners_;
};

}  // namespace ctsync::test

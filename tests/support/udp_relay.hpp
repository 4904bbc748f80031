#pragma once
// A user-space UDP relay between two unicast sync endpoints, in a namespace of its own:
// holds each datagram for a random time (jitter, hence reordering), and can cut the link
// (partition). Loss and duplication are added by nftables on its interfaces.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>

#include "routed_topology.hpp"

namespace ctsync::test {

class UdpRelay {
 public:
  // Datagrams arriving at side_a are sent from side_b to to_b, and the other way round.
  UdpRelay(const Namespace& ns, const std::string& side_a, const std::string& to_a,
           const std::string& side_b, const std::string& to_b, int port,
           std::chrono::milliseconds jitter)
      : jitter_(jitter) {
    a_ = socket_in(ns, AF_INET, SOCK_DGRAM);
    b_ = socket_in(ns, AF_INET, SOCK_DGRAM);
    auto sa = endpoint(side_a, port), sb = endpoint(side_b, port);
    if (::bind(a_, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0 ||
        ::bind(b_, reinterpret_cast<sockaddr*>(&sb), endpoint_len(sb)) != 0) {
      throw std::runtime_error("relay bind");
    }
    to_a_ = endpoint(to_a, port);
    to_b_ = endpoint(to_b, port);
    thread_ = std::thread([this] { run(); });
  }
  ~UdpRelay() {
    stop_ = true;
    thread_.join();
    ::close(a_);
    ::close(b_);
  }

  void set_partitioned(bool cut) { cut_ = cut; }
  std::uint64_t forwarded() const { return forwarded_; }

 private:
  struct Held {
    std::chrono::steady_clock::time_point due;
    std::uint64_t order;
    int out;
    sockaddr_storage to;
    std::string bytes;
    bool operator>(const Held& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  void run() {
    std::mt19937_64 rng(99);
    std::uniform_int_distribution<long> delay(0, jitter_.count() * 1000);
    std::priority_queue<Held, std::vector<Held>, std::greater<>> held;
    std::uint64_t order = 0;
    char buf[65536];
    while (!stop_) {
      pollfd fds[2] = {{a_, POLLIN, 0}, {b_, POLLIN, 0}};
      ::poll(fds, 2, 2);
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0 || cut_) continue;
        const bool from_a = fds[i].fd == a_;
        held.push(Held{std::chrono::steady_clock::now() + std::chrono::microseconds(delay(rng)),
                       order++, from_a ? b_ : a_, from_a ? to_b_ : to_a_,
                       std::string(buf, static_cast<std::size_t>(n))});
      }
      while (!held.empty() && held.top().due <= std::chrono::steady_clock::now()) {
        const Held& h = held.top();
        if (!cut_) {
          ::sendto(h.out, h.bytes.data(), h.bytes.size(), 0,
                   reinterpret_cast<const sockaddr*>(&h.to), endpoint_len(h.to));
          ++forwarded_;
        }
        held.pop();
      }
    }
  }

  int a_ = -1, b_ = -1;
  sockaddr_storage to_a_{}, to_b_{};
  std::chrono::milliseconds jitter_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<std::uint64_t> forwarded_{0};
  std::thread thread_;
};

}  // namespace ctsync::test

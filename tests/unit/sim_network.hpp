#pragma once
// A deterministic, simulated multicast network for SyncEngine nodes: seeded loss,
// duplication, delay with jitter (which reorders), partitions, and node restarts. Time is
// simulated; a run of minutes takes milliseconds.
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "core/sync_engine.hpp"

namespace ctsync::sim {

struct LinkProfile {
  double loss = 0.0;       // probability a datagram is lost on its way to one receiver
  double duplicate = 0.0;  // probability it arrives twice
  Duration delay = std::chrono::microseconds(200);
  Duration jitter = Duration::zero();  // uniform extra delay; reorders datagrams
};

class Network {
 public:
  using Tamper = std::function<void(std::size_t from, std::size_t to, std::string& datagram)>;

  Network(std::uint64_t seed, LinkProfile profile) : rng_(seed), profile_(profile) {}

  std::size_t add_node(EngineConfig config, PeerFlowObserver* observer = nullptr) {
    config.node_id = static_cast<std::uint32_t>(nodes_.size() + 1);
    configs_.push_back(config);
    nodes_.push_back(std::make_unique<SyncEngine>(config, observer, now_));
    partitioned_.push_back(false);
    return nodes_.size() - 1;
  }
  SyncEngine& node(std::size_t i) { return *nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  TimePoint now() const { return now_; }
  Duration elapsed() const { return now_ - TimePoint{}; }

  // Replaces node i by a fresh engine with a later boot id, as after a daemon restart.
  SyncEngine& restart(std::size_t i) {
    configs_[i].boot_id += 1000;
    nodes_[i] = std::make_unique<SyncEngine>(configs_[i], nullptr, now_);
    return *nodes_[i];
  }

  void set_profile(LinkProfile p) { profile_ = p; }
  void set_partitioned(std::size_t i, bool cut) { partitioned_[i] = cut; }
  void set_tamper(Tamper t) { tamper_ = std::move(t); }
  std::uint64_t oversized() const { return oversized_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::uint64_t datagrams_sent() const { return datagrams_sent_; }

  // Runs the network until `until`: delivers datagrams, polls every node when it asks.
  void run_until(TimePoint until) {
    for (;;) {
      bool progressed = deliver_due();
      progressed = poll_all() || progressed;
      TimePoint next = until;
      if (!queue_.empty()) next = std::min(next, queue_.top().at);
      for (auto& n : nodes_) next = std::min(next, n->next_wakeup(now_));
      if (next <= now_) {
        if (progressed) continue;
        next = now_ + std::chrono::microseconds(50);  // a wakeup with nothing to do
        ++idle_wakeups_;
      }
      if (next > until) {
        now_ = std::max(now_, until);
        return;
      }
      now_ = next;
    }
  }
  void run_for(Duration d) { run_until(now_ + d); }
  std::uint64_t idle_wakeups() const { return idle_wakeups_; }

 private:
  struct InFlight {
    TimePoint at;
    std::uint64_t order;
    std::size_t to;
    std::size_t from;
    std::string bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };

  bool deliver_due() {
    bool any = false;
    while (!queue_.empty() && queue_.top().at <= now_) {
      InFlight f = queue_.top();
      queue_.pop();
      any = true;
      if (partitioned_[f.to] || partitioned_[f.from]) continue;
      nodes_[f.to]->receive(f.bytes, now_);
    }
    return any;
  }

  bool poll_all() {
    bool any = false;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      out_.clear();
      nodes_[i]->poll(now_, out_);
      for (auto& d : out_) send(i, d);
      any = any || !out_.empty();
    }
    return any;
  }

  void send(std::size_t from, const std::string& d) {
    // What the link's MTU allows; a larger datagram would be fragmented or refused.
    if (d.size() > configs_[from].max_packet_bytes) oversized_ += 1;
    bytes_sent_ += d.size();
    datagrams_sent_ += 1;
    if (partitioned_[from]) return;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t to = 0; to < nodes_.size(); ++to) {
      if (to == from) continue;
      if (u(rng_) < profile_.loss) continue;
      const int copies = u(rng_) < profile_.duplicate ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        Duration extra = Duration::zero();
        if (profile_.jitter > Duration::zero()) {
          extra = Duration(
              static_cast<Duration::rep>(u(rng_) * static_cast<double>(profile_.jitter.count())));
        }
        std::string bytes = d;
        if (tamper_) tamper_(from, to, bytes);
        queue_.push(InFlight{now_ + profile_.delay + extra, order_++, to, from, std::move(bytes)});
      }
    }
  }

  std::mt19937_64 rng_;
  LinkProfile profile_;
  TimePoint now_{};
  std::vector<EngineConfig> configs_;
  std::vector<std::unique_ptr<SyncEngine>> nodes_;
  std::vector<bool> partitioned_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> queue_;
  std::vector<std::string> out_;
  std::uint64_t order_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t oversized_ = 0;
  std::uint64_t datagrams_sent_ = 0;
  std::uint64_t idle_wakeups_ = 0;
  Tamper tamper_;
};

}  // namespace ctsync::sim

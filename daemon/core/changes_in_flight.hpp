#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "core/latency_histogram.hpp"
#include "ctsync/clock.hpp"

namespace ctsync {

// The changes of this node's stream that some peer has not acknowledged yet: when each was
// made (its kernel event read), which stream packet carries it, and how far each peer has
// acknowledged. Measured here on the sender, so no clocks are compared between nodes:
// - the replication latency of every change to each peer's ack, and to the moment every up
//   peer has acknowledged it;
// - what a failover now would lose: the changes even the most advanced peer lacks. A peer
//   that goes down is still owed (it is the node that would take over, and what it lacks is
//   lost if it does); a peer that comes up for the first time is owed nothing sent before
//   (what it lacks comes in the bulk it asks for, which readiness covers). A node removed
//   for good is forgotten when this daemon restarts.
class ChangesInFlight {
 public:
  // Beyond this many tracked packets (a peer down or acknowledging nothing) the oldest are
  // folded into one count: still at risk, their latencies unmeasured.
  explicit ChangesInFlight(std::size_t max_packets = 16384) : max_packets_(max_packets) {}

  // Stream packet `seq` (sent for the first time) carries changes made at `made_at`.
  void sent(std::uint64_t seq, const std::vector<TimePoint>& made_at);
  void peer_up(std::uint32_t peer, std::uint64_t last_sent);
  void peer_down(std::uint32_t peer, TimePoint now);
  void acked(std::uint32_t peer, std::uint64_t seq, TimePoint now);
  void clear();  // the node stopped replicating: nothing is owed any more

  // Changes sent that the most advanced peer has not acknowledged, and the oldest of them.
  std::uint64_t at_risk() const;
  std::optional<TimePoint> oldest_at_risk() const;
  const LatencyHistogram& all_peers() const { return all_peers_; }
  const std::map<std::uint32_t, LatencyHistogram>& per_peer() const { return per_peer_; }
  // Changes whose latency went unmeasured (folded while a peer was owed them for long).
  std::uint64_t unmeasured() const { return unmeasured_; }

 private:
  struct Packet {
    std::uint64_t seq;
    std::vector<TimePoint> made_at;
    TimePoint oldest;  // expectations jump the queue: not always the first
  };
  struct Folded {
    std::uint64_t changes = 0;
    std::uint64_t last_seq = 0;
    TimePoint oldest{};
  };
  struct Owed {
    std::uint64_t acked = 0;
    bool up = true;
  };
  void settle(TimePoint now);
  std::uint64_t best() const;  // the highest ack of any peer

  std::size_t max_packets_;
  std::deque<Packet> packets_;  // by seq; a bulk's packets carry no changes and are absent
  Folded folded_;
  std::map<std::uint32_t, Owed> peers_;
  std::uint64_t all_up_observed_ = 0;  // packets up to here are in all_peers_
  std::map<std::uint32_t, LatencyHistogram> per_peer_;
  LatencyHistogram all_peers_;
  std::uint64_t unmeasured_ = 0;
};

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "core/latency_histogram.hpp"
#include "ctsync/clock.hpp"

namespace ctsync {

// The changes of this node's stream that some up peer has not acknowledged yet: when each was
// made (its kernel event read), which stream packet carries it, and how far each up peer has
// acknowledged. From them: the replication latency of every change, per peer and until every
// up peer has it (measured here on the sender, so no clocks are compared between nodes), and
// what a failover now would lose. A peer that comes up is owed nothing sent before: what it
// lacks comes in the bulk it asks for, which readiness covers.
class ChangesInFlight {
 public:
  // Beyond this many tracked packets (a peer that stays up but acknowledges nothing) the
  // oldest are folded into one summary: still counted at risk, their latencies unmeasured.
  explicit ChangesInFlight(std::size_t max_packets = 65536) : max_packets_(max_packets) {}

  // Stream packet `seq` (sent for the first time) carries changes made at `made_at`.
  void sent(std::uint64_t seq, const std::vector<TimePoint>& made_at);
  void peer_up(std::uint32_t peer, std::uint64_t last_sent);
  void peer_down(std::uint32_t peer, TimePoint now);
  void acked(std::uint32_t peer, std::uint64_t seq, TimePoint now);
  void clear();  // the node stopped replicating: nothing is owed any more

  // Changes sent that not every up peer has acknowledged, and the oldest of them.
  std::uint64_t unacked() const { return unacked_ + folded_.changes; }
  std::optional<TimePoint> oldest() const;
  const LatencyHistogram& all_peers() const { return all_peers_; }
  const std::map<std::uint32_t, LatencyHistogram>& per_peer() const { return per_peer_; }
  // Changes whose latency went unmeasured (folded while a peer acknowledged nothing).
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
  void release(TimePoint now);
  std::uint64_t floor() const;  // the lowest ack among up peers

  std::size_t max_packets_;
  std::deque<Packet> packets_;  // by seq; a bulk's packets carry no changes and are absent
  std::uint64_t unacked_ = 0;
  Folded folded_;
  std::map<std::uint32_t, std::uint64_t> acked_;
  std::map<std::uint32_t, LatencyHistogram> per_peer_;
  LatencyHistogram all_peers_;
  std::uint64_t unmeasured_ = 0;
};

}  // namespace ctsync

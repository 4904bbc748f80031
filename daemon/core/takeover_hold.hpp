#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ctsync/clock.hpp"
#include "ctsync/flow_key.hpp"

namespace ctsync {

struct HoldSettings {
  Duration max_hold = milliseconds(500);  // no packet waits longer, written or not
  std::size_t max_held = 4096;            // packets held at once; beyond, they pass at once
  // Flows written on demand with no promotion following (stray traffic, a flapping VRRP) are
  // given the purge's short timeout after this long.
  Duration early_write_life = seconds(5);
};

struct HoldCounters {
  std::uint64_t seen = 0;           // packets the queue gave us
  std::uint64_t passed = 0;         // at once: no peer's flow, or the kernel has it already
  std::uint64_t held = 0;           // waited for their flow's write
  std::uint64_t released = 0;       // ... and went on once it was written
  std::uint64_t released_late = 0;  // ... went on at max_hold, the write not done
  std::uint64_t overflow = 0;       // passed at once because max_held were waiting
  std::uint64_t flows_written = 0;  // flows committed on demand
  std::uint64_t write_failures = 0;
  Duration longest_hold{};
};

// The takeover hold's decisions, on packets that reach a backup (or a node taking over)
// before conntrack sees them. A packet of a flow that only a peer's copy holds waits while
// that flow is written into the kernel, ahead of any commit; everything else passes at once.
// Which packets wait, for how long, and which early writes outlive their reason is decided
// here; the queue, the lookups and the writes are the caller's.
class TakeoverHold {
 public:
  explicit TakeoverHold(HoldSettings settings = {}) : settings_(settings) {}
  void set_settings(const HoldSettings& s) { settings_ = s; }
  const HoldSettings& settings() const { return settings_; }

  enum class Verdict { pass, hold };
  struct Decision {
    Verdict verdict = Verdict::pass;
    bool write = false;  // the flow's first waiting packet: write `peer_flow` now
  };
  // `peer_flow`: the key of the peer flow the packet belongs to (null when no peer knows
  // it); `in_kernel`: whether this node's table already has that flow.
  Decision on_packet(std::uint32_t id, const FlowKey* peer_flow, bool in_kernel, TimePoint now);

  // The write of `key` ended: the ids of the packets that waited for it, to let go.
  std::vector<std::uint32_t> written(const FlowKey& key, bool ok, bool promoted, TimePoint now);
  // Packets held for max_hold, to let go whatever became of their flow.
  std::vector<std::uint32_t> expire(TimePoint now);
  // Everything held (the queue is about to close).
  std::vector<std::uint32_t> release_all(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  std::size_t holding() const { return held_.size(); }

  // Whether the flow was written on demand since the last reset: a commit skips it (the
  // kernel's entry already carries live state). A failed write is not: the commit tries again.
  bool written_on_demand(const FlowKey& key) const {
    // Asked for every flow of a commit: no hashing when nothing was written.
    if (written_.empty()) return false;
    auto it = written_.find(key);
    return it != written_.end() && it->second;
  }
  // A promotion came: flows written early are the takeover's now, not strays.
  void promoted() { early_.clear(); }
  // Flows written before any promotion, longer ago than early_write_life: they get the
  // purge's timeout.
  std::vector<FlowKey> take_stale_early_writes(TimePoint now);
  // Stepped down: the next takeover starts afresh.
  void reset();

  std::optional<TimePoint> first_held() const { return first_held_; }
  const HoldCounters& counters() const { return counters_; }

 private:
  struct Held {
    FlowKey key;
    TimePoint since;
  };
  std::uint32_t let_go(std::map<std::uint32_t, Held>::iterator it, TimePoint now);

  HoldSettings settings_;
  std::map<std::uint32_t, Held> held_;                                            // by packet id
  std::unordered_map<FlowKey, std::vector<std::uint32_t>, FlowKeyHash> waiting_;  // by flow
  std::deque<std::pair<TimePoint, std::uint32_t>> arrival_;  // held ids, oldest first
  // Flows whose write was tried since the last reset: true when it succeeded.
  std::unordered_map<FlowKey, bool, FlowKeyHash> written_;
  std::deque<std::pair<TimePoint, FlowKey>> early_;  // written before a promotion
  std::optional<TimePoint> first_held_;
  HoldCounters counters_;
};

}  // namespace ctsync

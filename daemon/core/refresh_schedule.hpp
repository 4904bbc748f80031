#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "ctsync/clock.hpp"

namespace ctsync {

// Direct mode: when to write an injected entry again. The kernel lets a quiet UDP or ICMP
// entry expire although the flow lives on at the active node (no event, no update reaches
// the backup), so an entry with a short timeout is written again before half of it has
// passed, even if the tick that does it comes a whole tick late. Entries with long timeouts
// are refreshed in time by the active node's own events.
template <typename Key>
class RefreshSchedule {
 public:
  static constexpr std::uint32_t refresh_limit_s = 3600;

  RefreshSchedule(Duration tick, TimePoint epoch) : tick_(tick), epoch_(epoch) {}

  // Plans the next write of an entry written at `now` with `timeout` seconds; false when it
  // needs none.
  bool plan(const Key& key, std::uint32_t timeout, TimePoint now) {
    if (timeout > refresh_limit_s) return false;
    const auto tick_s = std::chrono::duration_cast<seconds>(tick_).count();
    const std::int64_t wait =
        std::max<std::int64_t>(1, (static_cast<std::int64_t>(timeout) - tick_s) / 2);
    due_[second(now) + wait].push_back(key);
    return true;
  }

  // Moves every key due by `now` into `out`.
  void take_due(TimePoint now, std::vector<Key>& out) {
    const std::int64_t s = second(now);
    while (!due_.empty() && due_.begin()->first <= s) {
      auto& keys = due_.begin()->second;
      out.insert(out.end(), keys.begin(), keys.end());
      due_.erase(due_.begin());
    }
  }

  // The second (since the epoch) at which `key`'s refresh is due, for tests; -1 when none.
  std::int64_t due_second(const Key& key) const {
    for (const auto& [s, keys] : due_)
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return s;
    return -1;
  }
  std::int64_t second(TimePoint t) const {
    return std::chrono::duration_cast<seconds>(t - epoch_).count();
  }
  Duration tick() const { return tick_; }
  void clear() { due_.clear(); }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& [s, keys] : due_) n += keys.size();
    return n;
  }

 private:
  Duration tick_;
  TimePoint epoch_;
  std::map<std::int64_t, std::vector<Key>> due_;  // second since epoch -> keys due then
};

}  // namespace ctsync

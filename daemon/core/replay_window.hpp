#pragma once
#include <cstdint>
#include <vector>

namespace ctsync {

// Tells a first arrival from a duplicate from a replay for one sender's datagram counter:
// a counter seen within the last `size` values is a duplicate (normal on a lossy, resending
// link); one older than that window can no longer be told apart from an attacker replaying a
// captured datagram, and is refused as a replay.
//
// Not seen is not the same as new. A datagram sent before the first one this receiver heard
// of the sender's boot (it joined later) was never marked, so a window alone would take its
// replay as a first arrival: it is `stale`. One that is unseen but older than the newest
// (lost, or reordered) is `late`: genuine content, but superseded by what came after it, so
// the caller takes only what cannot go backwards from it.
class ReplayWindow {
 public:
  enum class Verdict { fresh, late, stale, duplicate, replay };

  explicit ReplayWindow(std::uint64_t size = 8192);
  Verdict check_and_mark(std::uint64_t seq);
  // A new boot of the sender: a new counter space, no floor.
  void reset();
  // Counters up to `seq` were accepted before this receiver restarted: they are replays.
  void set_floor(std::uint64_t seq) { floor_ = seq; }
  std::uint64_t highest() const { return highest_; }

 private:
  std::uint64_t size_;
  std::uint64_t floor_ = 0;
  std::uint64_t highest_ = 0;
  std::uint64_t first_ = 0;  // the first counter heard since reset; 0: none yet
  std::vector<std::uint64_t> bits_;
};

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <vector>

namespace ctsync {

// Tells a first arrival from a duplicate from a replay for one sender's datagram counter:
// a counter seen within the last `size` values is a duplicate (normal on a lossy, resending
// link); one older than that window can no longer be told apart from an attacker replaying a
// captured datagram, and is refused as a replay.
class ReplayWindow {
 public:
  enum class Verdict { fresh, duplicate, replay };

  explicit ReplayWindow(std::uint64_t size = 8192);
  Verdict check_and_mark(std::uint64_t seq);
  void reset();
  std::uint64_t highest() const { return highest_; }

 private:
  std::uint64_t size_;
  std::uint64_t highest_ = 0;
  std::vector<std::uint64_t> bits_;
};

}  // namespace ctsync

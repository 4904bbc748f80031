#include "core/replay_window.hpp"

namespace ctsync {

ReplayWindow::ReplayWindow(std::uint64_t size) : size_(size), bits_((size + 63) / 64, 0) {}

void ReplayWindow::reset() {
  floor_ = 0;
  highest_ = 0;
  first_ = 0;
  bits_.assign(bits_.size(), 0);
}

ReplayWindow::Verdict ReplayWindow::check_and_mark(std::uint64_t seq) {
  const auto bit = [this](std::uint64_t s) -> std::uint64_t& { return bits_[(s % size_) / 64]; };
  const auto mask = [this](std::uint64_t s) { return std::uint64_t{1} << ((s % size_) % 64); };
  if (seq == 0 || seq <= floor_) return Verdict::replay;
  if (first_ == 0) first_ = seq;
  if (seq > highest_) {
    const std::uint64_t advance = seq - highest_;
    if (advance >= size_) {
      bits_.assign(bits_.size(), 0);
    } else {
      for (std::uint64_t s = highest_ + 1; s < seq; ++s) bit(s) &= ~mask(s);
    }
    highest_ = seq;
    bit(seq) |= mask(seq);
    return Verdict::fresh;
  }
  if (highest_ - seq >= size_) return Verdict::replay;
  if (seq < first_) return Verdict::stale;
  if (bit(seq) & mask(seq)) return Verdict::duplicate;
  bit(seq) |= mask(seq);
  return Verdict::late;
}

}  // namespace ctsync

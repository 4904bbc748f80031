#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ctsync {

// An open-addressing index from a 64-bit hash to positions in a table kept elsewhere: 8 bytes
// a slot, linear probing, backward-shift deletion (no tombstones), at most three quarters
// full. A slot keeps the hash's low 32 bits, every bit a slot number can use (indexes stay
// below 2^32 slots), so growing never reads the table itself.
class SlotIndex {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // The slot whose position `matches`, among those on the probe path of h; npos if none.
  template <typename Matches>
  std::size_t find(std::uint64_t h, Matches matches) const {
    if (slots_.empty()) return npos;
    const auto tag = static_cast<std::uint32_t>(h);
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.pos1 == 0) return npos;
      if (s.tag == tag && matches(std::size_t{s.pos1} - 1)) return i;
    }
  }
  std::size_t position_in(std::size_t slot) const { return slots_[slot].pos1 - 1; }
  // The slot pointing at `pos`, which must be on h's probe path.
  std::size_t slot_of(std::uint64_t h, std::size_t pos) const {
    std::size_t i = h & mask();
    while (slots_[i].pos1 != pos + 1) i = (i + 1) & mask();
    return i;
  }

  void insert(std::uint64_t h, std::size_t pos) {
    if (slots_.empty()) {
      rehash(16);
    } else if ((count_ + 1) * 4 > slots_.size() * 3) {
      rehash(slots_.size() * 2);
    }
    place(static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(pos + 1));
    ++count_;
  }
  void point_at(std::size_t slot, std::size_t pos) {
    slots_[slot].pos1 = static_cast<std::uint32_t>(pos + 1);
  }
  void erase(std::size_t slot) {
    std::size_t i = slot;
    for (std::size_t j = i;;) {
      j = (j + 1) & mask();
      if (slots_[j].pos1 == 0) break;
      const std::size_t home = slots_[j].tag & mask();
      const bool home_between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!home_between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --count_;
  }

  void prefetch(std::uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask()]);
  }
  void reserve(std::size_t n) {
    std::size_t cap = slots_.empty() ? 16 : slots_.size();
    while (n * 4 > cap * 3) cap *= 2;
    if (cap != slots_.size()) rehash(cap);
  }
  // Empties the index; its slots stay allocated for the table to fill again.
  void clear() {
    slots_.assign(slots_.size(), Slot{});
    count_ = 0;
  }
  std::size_t size() const { return count_; }
  std::size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t pos1 = 0;  // position plus one; 0 marks an empty slot
  };
  std::size_t mask() const { return slots_.size() - 1; }
  void place(std::uint32_t tag, std::uint32_t pos1) {
    std::size_t i = tag & mask();
    while (slots_[i].pos1 != 0) i = (i + 1) & mask();
    slots_[i] = Slot{tag, pos1};
  }
  void rehash(std::size_t capacity) {
    std::vector<Slot> old(capacity, Slot{});
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.pos1 != 0) place(s.tag, s.pos1);
    }
  }

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
};

}  // namespace ctsync

#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ctsync/flow_key.hpp"

namespace ctsync {

// A set of flow keys without a heap allocation per key: open addressing with linear probing
// and backward-shift deletion. The sender's outbox uses it to queue each changed flow once.
class FlowKeySet {
 public:
  // True when the key was not in the set yet.
  bool insert(const FlowKey& key) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = hash_key(key);
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (!s.used) {
        s = Slot{static_cast<std::uint32_t>(h), true, key};
        ++size_;
        return true;
      }
      if (s.tag == static_cast<std::uint32_t>(h) && s.key == key) return false;
    }
  }

  bool erase(const FlowKey& key) {
    if (slots_.empty()) return false;
    const std::uint64_t h = hash_key(key);
    std::size_t i = h & mask();
    for (;; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (!s.used) return false;
      if (s.tag == static_cast<std::uint32_t>(h) && s.key == key) break;
    }
    for (std::size_t j = i;;) {
      j = (j + 1) & mask();
      if (!slots_[j].used) break;
      const std::size_t home = slots_[j].tag & mask();
      const bool between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].used = false;
    --size_;
    return true;
  }

  void clear() {
    slots_.clear();
    size_ = 0;
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    bool used = false;
    FlowKey key;
  };
  std::size_t mask() const { return slots_.size() - 1; }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.used) insert(s.key);
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <vector>

#include "ctsync/block_vector.hpp"

namespace ctsync {

// Values that a few table entries need and most do not (an IPv6 flow's addresses, a flow's
// kernel counters), kept aside and named by a 32-bit reference so that the entries that do
// not need them stay small. A released slot is reused by the next add; references stay
// valid until released, and 0 is never a reference, so an entry can keep 0 for "none".
template <typename T>
class Slab {
 public:
  using Ref = std::uint32_t;

  Ref add(const T& value) {
    if (!free_.empty()) {
      const Ref r = free_.back();
      free_.pop_back();
      items_[r - 1] = value;
      return r;
    }
    items_.push_back(value);
    return static_cast<Ref>(items_.size());
  }
  void release(Ref r) {
    if (r != 0) free_.push_back(r);
  }
  T& operator[](Ref r) { return items_[r - 1]; }
  const T& operator[](Ref r) const { return items_[r - 1]; }

  // Slots in use.
  std::size_t size() const { return items_.size() - free_.size(); }
  void clear() {
    items_.clear();
    free_.clear();
    free_.shrink_to_fit();
  }
  std::size_t memory_bytes() const {
    return items_.capacity() * sizeof(T) + free_.capacity() * sizeof(Ref);
  }

 private:
  BlockVector<T, 10> items_;
  std::vector<Ref> free_;
};

}  // namespace ctsync

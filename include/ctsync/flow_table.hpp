#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <utility>
#include <vector>

#include "ctsync/block_vector.hpp"
#include "ctsync/flow.hpp"

namespace ctsync {

struct NoMeta {};

// A hash map from FlowKey to Flow (plus per-entry metadata of the owner's choosing), built
// for large tables: flows are stored densely (iteration and bulk transfer walk them by
// position, and a removal moves the last flow into the hole) in blocks that never move as the
// table grows, and an open-addressing index of 8-byte slots finds them. The key lives inside
// the flow, so it is stored once.
template <typename Meta = NoMeta>
class FlowTable {
 public:
  struct Entry {
    Flow flow;
    [[no_unique_address]] Meta meta{};
  };

  enum class Change { inserted, updated, unchanged };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const BlockVector<Entry>& entries() const { return entries_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  const Entry* find(const FlowKey& key) const {
    const Slot* s = find_slot(key, hash_key(key));
    return s == nullptr ? nullptr : &entries_[s->pos1 - 1];
  }
  Entry* find(const FlowKey& key) {
    return const_cast<Entry*>(static_cast<const FlowTable*>(this)->find(key));
  }
  // Where the key's entry is in entries(), or npos.
  std::size_t position(const FlowKey& key) const {
    const Slot* s = find_slot(key, hash_key(key));
    return s == nullptr ? npos : s->pos1 - 1;
  }
  const Flow* find_flow(const FlowKey& key) const {
    const Entry* e = find(key);
    return e ? &e->flow : nullptr;
  }

  // Starts loading the memory a lookup of `key` will touch first: a batch of lookups then
  // waits for its cache misses together rather than one after another.
  void prefetch(const FlowKey& key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash_key(key) & slots_.mask()]);
  }

  // Inserts the flow or overwrites the stored one; reports whether any replicated field
  // changed. Metadata of an existing entry is kept; a new entry gets `meta`.
  std::pair<Entry*, Change> upsert(const Flow& flow, const Meta& meta = Meta{}) {
    const std::uint64_t h = hash_key(flow.key);
    if (Slot* s = find_slot(flow.key, h)) {
      Entry& e = entries_[s->pos1 - 1];
      const bool same = same_replicated_state(e.flow, flow);
      e.flow = flow;
      drain_some();
      return {&e, same ? Change::unchanged : Change::updated};
    }
    return {&insert_new(h, flow, meta), Change::inserted};
  }

  // The entry for the flow's key, inserted with `meta` if there was none (then `second` is
  // true); an existing entry is left as it was, for the caller to compare and overwrite.
  std::pair<Entry*, bool> find_or_insert(const Flow& flow, const Meta& meta = Meta{}) {
    const std::uint64_t h = hash_key(flow.key);
    if (Slot* s = find_slot(flow.key, h)) return {&entries_[s->pos1 - 1], false};
    return {&insert_new(h, flow, meta), true};
  }

  bool erase(const FlowKey& key) {
    Slot* s = find_slot(key, hash_key(key));
    if (s == nullptr) return false;
    const std::uint32_t pos = s->pos1 - 1;
    remove_slot(s);
    const std::uint32_t last = static_cast<std::uint32_t>(entries_.size() - 1);
    if (pos != last) {
      // The last entry moves into the hole; its slot must follow it.
      find_slot(entries_[last].flow.key, hash_key(entries_[last].flow.key))->pos1 = pos + 1;
      entries_[pos] = std::move(entries_[last]);
    }
    entries_.pop_back();
    drain_some();
    return true;
  }

  // Removes every entry for which pred(entry) is true; returns how many.
  template <typename Pred>
  std::size_t erase_if(Pred pred) {
    std::vector<FlowKey> doomed;
    for (const Entry& e : entries_) {
      if (pred(e)) doomed.push_back(e.flow.key);
    }
    for (const FlowKey& k : doomed) erase(k);
    return doomed.size();
  }

  void clear() {
    entries_.clear();
    old_ = SlotArray{};
    slots_ = SlotArray(slots_.size());
  }

  void reserve(std::size_t n) {
    entries_.reserve(n);
    std::size_t cap = slots_.empty() ? 16 : slots_.size();
    while (n * 4 > cap * 3) cap *= 2;
    if (cap != slots_.size()) {
      drain_all();
      start_growth(cap);
      drain_all();
    }
  }

  // Bytes held by the table's own storage (for memory accounting).
  std::size_t memory_bytes() const {
    return entries_.capacity() * sizeof(Entry) + (slots_.size() + old_.size()) * sizeof(Slot);
  }

  // Whether an index that outgrew itself is still being moved into its larger successor.
  bool growing() const { return !old_.empty(); }

  // Every entry has exactly one live slot, and that slot carries the entry's hash. A full
  // walk: for tests.
  bool index_is_consistent() const {
    std::vector<std::uint8_t> seen(entries_.size(), 0);
    auto walk = [&](const SlotArray& a) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        const Slot& s = a[i];
        if (s.pos1 == 0 || s.pos1 == moved) continue;
        if (s.pos1 > entries_.size() || seen[s.pos1 - 1]++ != 0) return false;
        if (s.tag != static_cast<std::uint32_t>(hash_key(entries_[s.pos1 - 1].flow.key))) {
          return false;
        }
      }
      return true;
    };
    return walk(slots_) && walk(old_) &&
           std::all_of(seen.begin(), seen.end(), [](std::uint8_t n) { return n == 1; });
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;   // low 32 bits of the key's hash
    std::uint32_t pos1 = 0;  // position in entries_ plus one; 0 marks an empty slot
  };
  // In the index being drained: a slot whose entry has moved on. Lookups probe past it.
  static constexpr std::uint32_t moved = 0xffffffff;

  // Zeroed slots from calloc: the pages of a large index are mapped as lookups and inserts
  // first touch them, instead of all at once when the index doubles.
  class SlotArray {
   public:
    SlotArray() = default;
    explicit SlotArray(std::size_t n) : size_(n) {
      if (n == 0) return;
      slots_ = static_cast<Slot*>(std::calloc(n, sizeof(Slot)));
      if (slots_ == nullptr) throw std::bad_alloc();
    }
    SlotArray(SlotArray&& o) noexcept
        : slots_(std::exchange(o.slots_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    SlotArray& operator=(SlotArray o) noexcept {
      std::swap(slots_, o.slots_);
      std::swap(size_, o.size_);
      return *this;
    }
    SlotArray(const SlotArray& o) : SlotArray(o.size_) {
      if (size_ != 0) std::memcpy(slots_, o.slots_, size_ * sizeof(Slot));
    }
    ~SlotArray() { std::free(slots_); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t mask() const { return size_ - 1; }
    Slot& operator[](std::size_t i) { return slots_[i]; }
    const Slot& operator[](std::size_t i) const { return slots_[i]; }
    bool holds(const Slot* s) const {
      return std::less_equal<const Slot*>{}(slots_, s) &&
             std::less<const Slot*>{}(s, slots_ + size_);
    }

   private:
    Slot* slots_ = nullptr;
    std::size_t size_ = 0;
  };

  // Inlined into every lookup: out of line, it cost the bulk receiver about 8 %.
  [[gnu::always_inline]] Slot* find_slot(const FlowKey& key, std::uint64_t h) const {
    if (slots_.empty()) return nullptr;
    const auto tag = static_cast<std::uint32_t>(h);
    for (std::size_t i = h & slots_.mask();; i = (i + 1) & slots_.mask()) {
      const Slot& s = slots_[i];
      if (s.pos1 == 0) break;
      if (s.tag == tag && entries_[s.pos1 - 1].flow.key == key) return const_cast<Slot*>(&s);
    }
    return old_.empty() ? nullptr : find_old_slot(key, h);
  }
  Slot* find_old_slot(const FlowKey& key, std::uint64_t h) const {
    const auto tag = static_cast<std::uint32_t>(h);
    for (std::size_t i = h & old_.mask();; i = (i + 1) & old_.mask()) {
      const Slot& s = old_[i];
      if (s.pos1 == 0) return nullptr;
      if (s.pos1 != moved && s.tag == tag && entries_[s.pos1 - 1].flow.key == key) {
        return const_cast<Slot*>(&s);
      }
    }
  }

  Entry& insert_new(std::uint64_t h, const Flow& flow, const Meta& meta) {
    grow_if_needed();
    entries_.push_back(Entry{flow, meta});
    place(h, static_cast<std::uint32_t>(entries_.size()));
    drain_some();
    return entries_.back();
  }

  void place(std::uint64_t h, std::uint32_t pos1) {
    std::size_t i = h & slots_.mask();
    while (slots_[i].pos1 != 0) i = (i + 1) & slots_.mask();
    slots_[i] = Slot{static_cast<std::uint32_t>(h), pos1};
  }

  void remove_slot(Slot* s) {
    if (old_.holds(s)) {
      s->pos1 = moved;  // the drained index takes no backward shifts: it only empties
      return;
    }
    // Backward-shift deletion keeps linear probing free of tombstones.
    std::size_t i = static_cast<std::size_t>(s - &slots_[0]);
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & slots_.mask();
      if (slots_[j].pos1 == 0) break;
      const std::size_t home = slots_[j].tag & slots_.mask();
      const bool home_between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!home_between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
  }

  void grow_if_needed() {
    if (slots_.empty()) {
      slots_ = SlotArray(16);
    } else if ((entries_.size() + 1) * 4 > slots_.size() * 3) {
      drain_all();  // not reached in practice: a drain ends long before the next doubling
      start_growth(slots_.size() * 2);
    }
  }

  // The index doubles without a pause: the full one is kept for lookups and moved into the
  // new one a few slots per change (re-placed by their 32-bit tag, which holds every bit an
  // index can use, so the flows are not touched). Doubling at once, zeroed pages and all,
  // stalled the event loop for 15 ms at a million flows.
  void start_growth(std::size_t capacity) {
    old_ = std::move(slots_);
    slots_ = SlotArray(capacity);
    drained_ = 0;
  }
  // 64 slots per change (a few microseconds): lookups of new keys probe both indexes while a
  // drain lasts, so it should end soon; with a quarter of that, a million inserts took 5 %
  // longer.
  void drain_some() {
    if (!old_.empty()) drain(64);
  }
  void drain_all() {
    if (!old_.empty()) drain(old_.size());
  }
  void drain(std::size_t n) {
    const std::size_t end = std::min(old_.size(), drained_ + n);
    for (; drained_ < end; ++drained_) {
      Slot& s = old_[drained_];
      if (s.pos1 != 0 && s.pos1 != moved) {
        place(s.tag, s.pos1);
        s.pos1 = moved;
      }
    }
    if (drained_ == old_.size()) old_ = SlotArray{};
  }

  BlockVector<Entry> entries_;
  SlotArray slots_;
  SlotArray old_;
  std::size_t drained_ = 0;
};

}  // namespace ctsync

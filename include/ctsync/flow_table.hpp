#pragma once
#include <cstddef>
#include <cstdint>
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
// the flow, so it is stored once. A table can keep a second index of the same kind on each
// flow's reply tuple (index_replies()): a packet of a NATed flow's reply direction carries that
// tuple, and the takeover hold must find its flow.
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
    const std::size_t s = find_slot(key, hash_key(key));
    return s == npos ? nullptr : &entries_[slots_[s].pos1 - 1];
  }
  Entry* find(const FlowKey& key) {
    return const_cast<Entry*>(static_cast<const FlowTable*>(this)->find(key));
  }
  // Where the key's entry is in entries(), or npos.
  std::size_t position(const FlowKey& key) const {
    const std::size_t s = find_slot(key, hash_key(key));
    return s == npos ? npos : slots_[s].pos1 - 1;
  }
  const Flow* find_flow(const FlowKey& key) const {
    const Entry* e = find(key);
    return e ? &e->flow : nullptr;
  }

  // Keeps an index on (zone, reply tuple) from now on: 8 bytes a slot, as the key's.
  void index_replies() {
    if (indexes_replies_) return;
    indexes_replies_ = true;
    reply_slots_.assign(slots_.size(), Slot{});
    for (std::size_t i = 0; i < entries_.size(); ++i)
      place(reply_slots_, reply_hash(entries_[i].flow), static_cast<std::uint32_t>(i + 1));
  }
  // The flow whose reply tuple is `reply` in `zone`; null without index_replies().
  const Entry* find_by_reply(std::uint16_t zone, const Tuple& reply) const {
    if (reply_slots_.empty()) return nullptr;
    const std::uint64_t h = hash_key(FlowKey{zone, reply});
    const auto tag = static_cast<std::uint32_t>(h);
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = reply_slots_[i];
      if (s.pos1 == 0) return nullptr;
      const Flow& f = entries_[s.pos1 - 1].flow;
      if (s.tag == tag && f.reply == reply && f.key.zone == zone) return &entries_[s.pos1 - 1];
    }
  }
  // Overwrites a stored entry's flow (same key), keeping the reply index true.
  void assign(Entry& e, const Flow& flow) {
    if (indexes_replies_ && !(e.flow.reply == flow.reply)) {
      const auto pos1 = static_cast<std::uint32_t>(position(e.flow.key) + 1);
      remove_slot(reply_slots_, find_pos(reply_slots_, reply_hash(e.flow), pos1));
      e.flow = flow;
      place(reply_slots_, reply_hash(e.flow), pos1);
    } else {
      e.flow = flow;
    }
  }

  // Starts loading the memory a lookup of `key` will touch first: a batch of lookups then
  // waits for its cache misses together rather than one after another.
  void prefetch(const FlowKey& key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash_key(key) & mask()]);
  }

  // Inserts the flow or overwrites the stored one; reports whether any replicated field
  // changed. Metadata of an existing entry is kept; a new entry gets `meta`.
  std::pair<Entry*, Change> upsert(const Flow& flow, const Meta& meta = Meta{}) {
    const std::uint64_t h = hash_key(flow.key);
    std::size_t s = find_slot(flow.key, h);
    if (s != npos) {
      Entry& e = entries_[slots_[s].pos1 - 1];
      const bool same = same_replicated_state(e.flow, flow);
      assign(e, flow);
      return {&e, same ? Change::unchanged : Change::updated};
    }
    return {insert_new(h, flow, meta), Change::inserted};
  }

  // The entry for the flow's key, inserted with `meta` if there was none (then `second` is
  // true); an existing entry is left as it was, for the caller to compare and overwrite.
  std::pair<Entry*, bool> find_or_insert(const Flow& flow, const Meta& meta = Meta{}) {
    const std::uint64_t h = hash_key(flow.key);
    const std::size_t s = find_slot(flow.key, h);
    if (s != npos) return {&entries_[slots_[s].pos1 - 1], false};
    return {insert_new(h, flow, meta), true};
  }

  bool erase(const FlowKey& key) {
    const std::size_t s = find_slot(key, hash_key(key));
    if (s == npos) return false;
    const std::uint32_t pos = slots_[s].pos1 - 1;
    remove_slot(slots_, s);
    if (indexes_replies_)
      remove_slot(reply_slots_, find_pos(reply_slots_, reply_hash(entries_[pos].flow), pos + 1));
    const std::uint32_t last = static_cast<std::uint32_t>(entries_.size() - 1);
    if (pos != last) {
      // The last entry moves into the hole; its slots must follow it.
      const std::size_t ls = find_slot(entries_[last].flow.key, hash_key(entries_[last].flow.key));
      slots_[ls].pos1 = pos + 1;
      if (indexes_replies_)
        reply_slots_[find_pos(reply_slots_, reply_hash(entries_[last].flow), last + 1)].pos1 =
            pos + 1;
      entries_[pos] = std::move(entries_[last]);
    }
    entries_.pop_back();
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
    slots_.assign(slots_.size(), Slot{});
    reply_slots_.assign(reply_slots_.size(), Slot{});
  }

  void reserve(std::size_t n) {
    entries_.reserve(n);
    std::size_t cap = slots_.empty() ? 16 : slots_.size();
    while (n * 4 > cap * 3) cap *= 2;
    if (cap != slots_.size()) rehash(cap);
  }

  // Bytes held by the table's own storage (for memory accounting).
  std::size_t memory_bytes() const {
    return entries_.capacity() * sizeof(Entry) +
           (slots_.capacity() + reply_slots_.capacity()) * sizeof(Slot);
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;   // low 32 bits of the key's hash
    std::uint32_t pos1 = 0;  // position in entries_ plus one; 0 marks an empty slot
  };

  std::size_t mask() const { return slots_.size() - 1; }

  std::size_t find_slot(const FlowKey& key, std::uint64_t h) const {
    if (slots_.empty()) return npos;
    const auto tag = static_cast<std::uint32_t>(h);
    for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.pos1 == 0) return npos;
      if (s.tag == tag && entries_[s.pos1 - 1].flow.key == key) return i;
    }
  }

  static std::uint64_t reply_hash(const Flow& f) { return hash_key(FlowKey{f.key.zone, f.reply}); }

  Entry* insert_new(std::uint64_t h, const Flow& flow, const Meta& meta) {
    grow_if_needed();
    entries_.push_back(Entry{flow, meta});
    const auto pos1 = static_cast<std::uint32_t>(entries_.size());
    place(slots_, h, pos1);
    if (indexes_replies_) place(reply_slots_, reply_hash(flow), pos1);
    return &entries_.back();
  }

  void place(std::vector<Slot>& slots, std::uint64_t h, std::uint32_t pos1) {
    std::size_t i = h & mask();
    while (slots[i].pos1 != 0) i = (i + 1) & mask();
    slots[i] = Slot{static_cast<std::uint32_t>(h), pos1};
  }

  // The slot of `slots` that points at position pos1 - 1, on the probe path of hash h.
  std::size_t find_pos(const std::vector<Slot>& slots, std::uint64_t h, std::uint32_t pos1) const {
    std::size_t i = h & mask();
    while (slots[i].pos1 != pos1) i = (i + 1) & mask();
    return i;
  }

  // Backward-shift deletion keeps linear probing free of tombstones.
  void remove_slot(std::vector<Slot>& slots, std::size_t i) {
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & mask();
      if (slots[j].pos1 == 0) break;
      const std::size_t home = slots[j].tag & mask();
      const bool home_between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!home_between) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = Slot{};
  }

  void grow_if_needed() {
    if (slots_.empty()) {
      rehash(16);
    } else if ((entries_.size() + 1) * 4 > slots_.size() * 3) {
      rehash(slots_.size() * 2);
    }
  }

  // The tag holds every hash bit a slot index can use (tables stay below 2^32 slots), so
  // growing never touches the flows themselves.
  void rehash(std::size_t capacity) {
    for (std::vector<Slot>* index : {&slots_, &reply_slots_}) {
      if (index == &reply_slots_ && !indexes_replies_) break;
      std::vector<Slot> old(capacity, Slot{});
      old.swap(*index);
      for (const Slot& s : old) {
        if (s.pos1 != 0) place(*index, s.tag, s.pos1);
      }
    }
  }

  BlockVector<Entry> entries_;
  std::vector<Slot> slots_;
  std::vector<Slot> reply_slots_;  // with index_replies(): the same slots, keyed by reply tuple
  bool indexes_replies_ = false;
};

}  // namespace ctsync

#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctsync/block_vector.hpp"
#include "ctsync/flow.hpp"
#include "ctsync/packed_flows.hpp"
#include "ctsync/slot_index.hpp"

namespace ctsync {

struct NoMeta {};

// A hash map from FlowKey to Flow (plus per-entry metadata of the owner's choosing), built
// for large tables: flows are stored densely and packed (PackedFlows: 64 bytes for an IPv4
// flow), in blocks that never move as the table grows; iteration and bulk transfer walk them
// by position, and a removal moves the last flow into the hole. An open-addressing index of
// 8-byte slots finds them. A table can keep a second index on reply tuples
// (index_replies()): a packet of a NATed flow's reply direction carries that tuple, and the
// takeover hold must find its flow. Only flows whose reply is not their original inverted
// need a slot there; the others are found through the first index.
//
// Flows are read by value (decoded from their records); metadata is read and written in
// place. A flow changes only through upsert() or assign(), which keep the indexes true.
template <typename Meta = NoMeta>
class FlowTable {
 public:
  template <bool Const>
  struct BasicRef {
    Flow flow;
    std::conditional_t<Const, const Meta&, Meta&> meta;
    std::size_t position;
  };
  using Ref = BasicRef<false>;
  using ConstRef = BasicRef<true>;

  enum class Change { inserted, updated, unchanged };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = ConstRef;
    using difference_type = std::ptrdiff_t;
    using reference = ConstRef;
    struct pointer {
      ConstRef ref;
      const ConstRef* operator->() const { return &ref; }
    };
    const_iterator() = default;
    const_iterator(const FlowTable* t, std::size_t i) : t_(t), i_(i) {}
    ConstRef operator*() const { return (*t_)[i_]; }
    pointer operator->() const { return {(*t_)[i_]}; }
    const_iterator& operator++() { return ++i_, *this; }
    const_iterator operator++(int) { return {t_, i_++}; }
    friend bool operator==(const const_iterator& a, const const_iterator& b) {
      return a.i_ == b.i_;
    }

   private:
    const FlowTable* t_ = nullptr;
    std::size_t i_ = 0;
  };

  std::size_t size() const { return flows_.size(); }
  bool empty() const { return flows_.empty(); }
  // The entries by position (entries()[i]); iteration walks them in that order.
  const FlowTable& entries() const { return *this; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }
  ConstRef operator[](std::size_t pos) const { return {flows_.flow(pos), metas_[pos], pos}; }
  Flow flow_at(std::size_t pos) const { return flows_.flow(pos); }
  FlowKey key_at(std::size_t pos) const { return flows_.key(pos); }
  Meta& meta_at(std::size_t pos) { return metas_[pos]; }
  const Meta& meta_at(std::size_t pos) const { return metas_[pos]; }

  // Where the key's entry is, or npos.
  std::size_t position(const FlowKey& key) const {
    const std::size_t s =
        index_.find(hash_key(key), [&](std::size_t p) { return flows_.key(p) == key; });
    return s == SlotIndex::npos ? npos : index_.position_in(s);
  }
  std::optional<ConstRef> find(const FlowKey& key) const {
    const std::size_t pos = position(key);
    if (pos == npos) return std::nullopt;
    return (*this)[pos];
  }
  std::optional<Ref> find(const FlowKey& key) {
    const std::size_t pos = position(key);
    if (pos == npos) return std::nullopt;
    return Ref{flows_.flow(pos), metas_[pos], pos};
  }
  // The entry's metadata, or null; reads no flow.
  const Meta* find_meta(const FlowKey& key) const {
    const std::size_t pos = position(key);
    return pos == npos ? nullptr : &metas_[pos];
  }
  std::optional<Flow> find_flow(const FlowKey& key) const {
    const std::size_t pos = position(key);
    if (pos == npos) return std::nullopt;
    return flows_.flow(pos);
  }

  // Keeps an index on (zone, reply tuple) from now on.
  void index_replies() {
    if (indexes_replies_) return;
    indexes_replies_ = true;
    for (std::size_t i = 0; i < size(); ++i) index_reply(i);
  }
  // The flow whose reply tuple is `reply` in `zone`; nothing without index_replies().
  std::optional<ConstRef> find_by_reply(std::uint16_t zone, const Tuple& reply) const {
    if (!indexes_replies_) return std::nullopt;
    const std::size_t s = reply_index_.find(hash_key(FlowKey{zone, reply}), [&](std::size_t p) {
      return flows_.zone(p) == zone && flows_.reply(p) == reply;
    });
    if (s != SlotIndex::npos) return (*this)[reply_index_.position_in(s)];
    const std::size_t pos = position(FlowKey{zone, invert(reply)});
    if (pos != npos && flows_.reply_is_inverted(pos)) return (*this)[pos];
    return std::nullopt;
  }

  // Overwrites the flow at `pos` (same key), keeping the reply index true.
  void assign(std::size_t pos, const Flow& flow) {
    if (indexes_replies_) unindex_reply(pos);
    flows_.set(pos, flow);
    if (indexes_replies_) index_reply(pos);
  }

  // Starts loading the memory a lookup of `key` will touch first: a batch of lookups then
  // waits for its cache misses together rather than one after another.
  void prefetch(const FlowKey& key) const { index_.prefetch(hash_key(key)); }

  // Inserts the flow or overwrites the stored one; reports whether any replicated field
  // changed. Metadata of an existing entry is kept; a new entry gets `meta`.
  std::pair<Meta*, Change> upsert(const Flow& flow, const Meta& meta = Meta{}) {
    const std::size_t pos = position(flow.key);
    if (pos != npos) {
      const bool same = same_replicated_state(flows_.flow(pos), flow);
      assign(pos, flow);
      return {&metas_[pos], same ? Change::unchanged : Change::updated};
    }
    return {&metas_[insert_new(flow, meta)], Change::inserted};
  }

  // The entry for the flow's key, inserted with `meta` if there was none (then `second` is
  // true); an existing entry is left as it was, for the caller to compare and assign().
  std::pair<Ref, bool> find_or_insert(const Flow& flow, const Meta& meta = Meta{}) {
    std::size_t pos = position(flow.key);
    if (pos != npos) return {Ref{flows_.flow(pos), metas_[pos], pos}, false};
    pos = insert_new(flow, meta);
    return {Ref{flow, metas_[pos], pos}, true};
  }

  bool erase(const FlowKey& key) {
    const std::size_t s =
        index_.find(hash_key(key), [&](std::size_t p) { return flows_.key(p) == key; });
    if (s == SlotIndex::npos) return false;
    const std::size_t pos = index_.position_in(s);
    index_.erase(s);
    if (indexes_replies_) unindex_reply(pos);
    const std::size_t last = size() - 1;
    if (pos != last) {
      // The last entry moves into the hole; its slots must follow it.
      const FlowKey moved = flows_.key(last);
      index_.point_at(index_.slot_of(hash_key(moved), last), pos);
      if (indexes_replies_ && !flows_.reply_is_inverted(last))
        reply_index_.point_at(reply_index_.slot_of(reply_hash(last), last), pos);
      metas_[pos] = std::move(metas_[last]);
    }
    flows_.remove(pos);
    metas_.pop_back();
    return true;
  }

  // Removes every entry for which pred(entry) is true; returns how many.
  template <typename Pred>
  std::size_t erase_if(Pred pred) {
    std::vector<FlowKey> doomed;
    for (const ConstRef& e : *this) {
      if (pred(e)) doomed.push_back(e.flow.key);
    }
    for (const FlowKey& k : doomed) erase(k);
    return doomed.size();
  }

  void clear() {
    flows_.clear();
    metas_.clear();
    index_.clear();
    reply_index_.clear();
  }

  void reserve(std::size_t n) {
    flows_.reserve(n);
    metas_.reserve(n);
    index_.reserve(n);
  }

  // Bytes held by the table's own storage (for memory accounting).
  std::size_t memory_bytes() const {
    return flows_.memory_bytes() + metas_.capacity() * sizeof(Meta) + index_.memory_bytes() +
           reply_index_.memory_bytes();
  }
  // Flows in the reply index: those whose reply is not their original inverted.
  std::size_t reply_index_size() const { return reply_index_.size(); }

 private:
  std::uint64_t reply_hash(std::size_t pos) const {
    return hash_key(FlowKey{flows_.zone(pos), flows_.reply(pos)});
  }
  void index_reply(std::size_t pos) {
    if (!flows_.reply_is_inverted(pos)) reply_index_.insert(reply_hash(pos), pos);
  }
  void unindex_reply(std::size_t pos) {
    if (!flows_.reply_is_inverted(pos))
      reply_index_.erase(reply_index_.slot_of(reply_hash(pos), pos));
  }

  std::size_t insert_new(const Flow& flow, const Meta& meta) {
    const std::size_t pos = size();
    flows_.push_back(flow);
    metas_.push_back(meta);
    index_.insert(hash_key(flow.key), pos);
    if (indexes_replies_) index_reply(pos);
    return pos;
  }

  PackedFlows flows_;
  BlockVector<Meta> metas_;
  SlotIndex index_;
  SlotIndex reply_index_;  // with index_replies(): flows whose reply is not derived
  bool indexes_replies_ = false;
};

}  // namespace ctsync

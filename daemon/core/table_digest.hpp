#pragma once
#include <cstdint>

#include "ctsync/flow.hpp"

namespace ctsync {

// An order-independent summary of a table's replicated state, kept up to date incrementally
// on every change, so that a peer can compare its copy with the source in O(1) (anti-entropy).
struct TableDigest {
  std::uint64_t count = 0;
  std::uint64_t xor_hash = 0;

  void add(const Flow& f);
  void remove(const Flow& f);
  friend bool operator==(const TableDigest&, const TableDigest&) = default;
};

// A hash of every replicated field (what same_replicated_state() compares).
std::uint64_t state_hash(const Flow& f);

}  // namespace ctsync

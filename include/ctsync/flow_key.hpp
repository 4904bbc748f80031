#pragma once
#include <cstddef>
#include <cstdint>

#include "ctsync/tuple.hpp"

namespace ctsync {

// What identifies a connection: the zone and the original-direction tuple, as in the kernel.
struct FlowKey {
  std::uint16_t zone = 0;
  Tuple original;

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};
static_assert(sizeof(FlowKey) == 44, "FlowKey must stay free of padding: it is hashed as bytes");

namespace detail {
__extension__ typedef unsigned __int128 WideProduct;

// One 64x64->128 multiply folded to 64 bits: cheap, and independent lanes run in parallel.
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) {
  const WideProduct r = static_cast<WideProduct>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

// Loads straight from the object: copying it into a word buffer first stalls on store
// forwarding, which cost more than the hashing.
inline std::uint64_t load64(const unsigned char* p) {
  std::uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}
inline std::uint64_t load32(const unsigned char* p) {
  std::uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// Random per process, so that nobody who chooses addresses and ports can aim flows at one
// bucket of our tables (the kernel seeds its conntrack hash for the same reason).
extern const std::uint64_t hash_seed;
}  // namespace detail

// Hash of a key for in-process tables only: seeded per process, never sent to a peer.
inline std::uint64_t hash_key(const FlowKey& key) {
  using detail::fold_multiply, detail::load64, detail::load32;
  static_assert(sizeof(FlowKey) == 44);
  const auto* p = reinterpret_cast<const unsigned char*>(&key);
  const std::uint64_t s = detail::hash_seed;
  const std::uint64_t h =
      fold_multiply(load64(p) ^ s, load64(p + 8) ^ 0xa0761d6478bd642full) ^
      fold_multiply(load64(p + 16) ^ s, load64(p + 24) ^ 0xe7037ed1a0b428dbull) ^
      fold_multiply(load64(p + 32) ^ s, load32(p + 40) ^ 0x8ebc6af09c88c6e3ull);
  return fold_multiply(h ^ 0x589965cc75374cc3ull, s ^ 0x1d8e4e27c47d124full);
}

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& key) const { return hash_key(key); }
};

}  // namespace ctsync

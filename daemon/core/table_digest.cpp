#include "core/table_digest.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace ctsync {

// Same on every node (peers compare digests), so unlike hash_key() it has no random seed.
std::uint64_t state_hash(const Flow& f) {
  // The key and the reply tuple are adjacent and free of padding: 86 bytes read in place.
  static_assert(offsetof(Flow, reply) == sizeof(FlowKey) && sizeof(Tuple) == 42);
  using detail::fold_multiply, detail::load64, detail::load32;
  const auto* p = reinterpret_cast<const unsigned char*>(&f);
  const std::uint64_t tail = load32(p + 80) | (load32(p + 82) >> 16) << 32;  // bytes 80..85
  std::uint64_t h =
      fold_multiply(load64(p) ^ 0x2d358dccaa6c78a5ull, load64(p + 8) ^ 0x8bb84b93962eacc9ull) ^
      fold_multiply(load64(p + 16) ^ 0x4b33a62ed433d4a3ull,
                    load64(p + 24) ^ 0x4d5a2da51de1aa47ull) ^
      fold_multiply(load64(p + 32) ^ 0xa0761d6478bd642full,
                    load64(p + 40) ^ 0xe7037ed1a0b428dbull) ^
      fold_multiply(load64(p + 48) ^ 0x8ebc6af09c88c6e3ull,
                    load64(p + 56) ^ 0x589965cc75374cc3ull) ^
      fold_multiply(load64(p + 64) ^ 0x1d8e4e27c47d124full,
                    load64(p + 72) ^ 0x9e3779b97f4a7c15ull) ^
      fold_multiply(tail ^ 0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull);
  const std::uint64_t states =
      std::uint64_t{f.mark} << 32 | static_cast<std::uint64_t>(f.tcp.state) << 24 |
      std::uint64_t{f.tcp.wscale_original} << 16 | std::uint64_t{f.tcp.wscale_reply} << 8 |
      static_cast<std::uint64_t>(f.sctp.state);
  // The name, not its index: indexes differ from process to process.
  unsigned char helper[16] = {};
  const auto name = f.helper.view();
  std::memcpy(helper, name.data(), std::min(name.size(), sizeof helper));
  auto seq = [](const SeqAdjust& s) {
    return std::uint64_t{s.correction_pos} << 32 ^
           static_cast<std::uint32_t>(s.offset_before) * 0x9e3779b1ull ^
           static_cast<std::uint32_t>(s.offset_after);
  };
  h ^=
      fold_multiply((std::uint64_t{f.status} << 32 | f.timeout) ^ 0x3c6ef372fe94f82bull,
                    states ^ 0xa54ff53a5f1d36f1ull) ^
      fold_multiply(
          (std::uint64_t{f.tcp.flags_original} << 8 | f.tcp.flags_reply) ^ 0x510e527fade682d1ull,
          (std::uint64_t{f.sctp.vtag_original} << 32 | f.sctp.vtag_reply) ^ 0x9b05688c2b3e6c1full) ^
      fold_multiply(load64(helper) ^ 0x1f83d9abfb41bd6bull,
                    load64(helper + 8) ^ 0x5be0cd19137e2179ull) ^
      fold_multiply(f.labels.words[0] ^ 0xcbbb9d5dc1059ed8ull,
                    f.labels.words[1] ^ 0x629a292a367cd507ull) ^
      fold_multiply(f.start_ns ^ 0x9159015a3070dd17ull, 0x152fecd8f70e5939ull) ^
      fold_multiply(seq(f.seq_original) ^ 0x3c6ef372fe94f82aull,
                    seq(f.seq_reply) ^ 0x6a09e667f3bcc909ull);
  return fold_multiply(h ^ 0x67332667ffc00b31ull, 0x8eb44a8768581511ull);
}

void TableDigest::add(const Flow& f) {
  ++count;
  xor_hash ^= state_hash(f);
}

void TableDigest::remove(const Flow& f) {
  --count;
  xor_hash ^= state_hash(f);
}

}  // namespace ctsync

#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ctsync/result.hpp"

namespace ctsync {

using SecretKey = std::array<std::uint8_t, 32>;

// How a datagram is sealed; the number is the version byte of its clear header.
enum class Sealing : std::uint8_t {
  raw_key = 1,      // with the pre-shared key itself: releases before 0.2.0 know only this
  derived_key = 2,  // with a key derived from it for sealing sync datagrams alone
};

// The pre-shared keys a node accepts, by key id, and the one it seals with. Two ids at once
// let operators rotate keys without a gap: add the new key everywhere, switch the send id,
// then remove the old key.
//
// The sealing key is derived from each pre-shared key (libsodium's crypto_kdf, a context that
// names the protocol and this purpose), so that any later use of the same pre-shared key gets
// a key of its own and never shares the sealing key's keystreams.
//
// Each key lives in its own libsodium secure allocation: locked in memory (never written to
// swap), between guard pages, and wiped when it is freed (a ring replaced on reload, a copy
// dropped), so a key leaves no copy behind in freed heap memory.
class KeyRing {
 public:
  KeyRing() = default;
  KeyRing(const KeyRing& other);
  KeyRing& operator=(const KeyRing& other);
  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;
  ~KeyRing() = default;

  void add(std::uint8_t id, const SecretKey& key);
  Result<void> set_send_id(std::uint8_t id);
  std::uint8_t send_id() const { return send_id_; }
  // The key that seals and opens datagrams with this key id; null when the id is unknown.
  const SecretKey* find(std::uint8_t id, Sealing sealing = Sealing::derived_key) const;
  bool empty() const { return keys_.empty(); }

 private:
  struct Keys {
    SecretKey raw;
    SecretKey derived;
  };
  struct SecureFree {
    void operator()(Keys* keys) const;
  };
  using SecureKey = std::unique_ptr<Keys, SecureFree>;

  std::map<std::uint8_t, SecureKey> keys_;
  std::uint8_t send_id_ = 0;
};

// The derived sealing key (exposed for tests: a second derivation must give the same key).
SecretKey derive_sealing_key(const SecretKey& key);

// Reads a key file: 64 hexadecimal characters (optionally followed by a newline), as
// `openssl rand -hex 32` or `ctsyncctl keygen` write them. Always refused: a file others can
// access, one the group can write, a key with fewer than min_distinct_key_bytes distinct byte
// values (all zeros, a repeated pattern: not random). The owner must be root, or the daemon's
// own user; when `strict`, root.
Result<SecretKey> load_key_file(const std::string& path, bool strict);

inline constexpr std::size_t min_distinct_key_bytes = 16;
std::size_t distinct_byte_values(const SecretKey& key);

// Formats a fresh random key in the key file format.
std::string generate_key_text();

}  // namespace ctsync

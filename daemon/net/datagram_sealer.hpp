#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/sync_counters.hpp"
#include "net/key_ring.hpp"

namespace ctsync {

// The clear header and AEAD sealing of one datagram:
//   magic "CS" | sealing version | key id | 24-byte random nonce | XChaCha20-Poly1305(Packet)
// The header is authenticated as associated data. Random 192-bit nonces never repeat under a
// key in practice, across restarts too, so no nonce state is kept.
//
// Version 2 seals with the key derived for this purpose (KeyRing). Version 1, the pre-shared
// key itself, is what releases before 0.2.0 read and send: it is opened, and used to send
// while such a peer is up, unless `legacy` is off (see docs/operations.md, upgrading).
class DatagramSealer {
 public:
  static constexpr std::size_t header_size = 28;
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t overhead = header_size + tag_size;

  DatagramSealer(KeyRing keys, std::size_t max_datagram, bool legacy = true);

  // The sealing `seal` uses when asked for `wanted`: the derived key when legacy is off.
  Sealing sealing_for(Sealing wanted) const { return legacy_ ? wanted : Sealing::derived_key; }
  void seal(std::string_view plaintext, std::string& out,
            Sealing sealing = Sealing::derived_key) const;

  struct Opened {
    std::optional<DropReason> dropped;  // set when the datagram must be dropped
    Sealing sealing = Sealing::derived_key;
  };
  // On success the plaintext is in `out`. Nothing is parsed before authentication.
  Opened open(std::string_view datagram, std::string& out) const;

  const KeyRing& keys() const { return keys_; }
  // Key rotation on reload: takes effect for the next datagram.
  void replace_keys(KeyRing keys) { keys_ = std::move(keys); }
  std::size_t max_datagram() const { return max_datagram_; }

 private:
  KeyRing keys_;
  std::size_t max_datagram_;
  bool legacy_;
};

}  // namespace ctsync

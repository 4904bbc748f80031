#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/sync_counters.hpp"
#include "net/key_ring.hpp"

namespace ctsync {

// The clear header and AEAD sealing of one datagram:
//   magic "CS" | version (1) | key id | 24-byte random nonce | XChaCha20-Poly1305(Packet)
// The header is authenticated as associated data. Random 192-bit nonces never repeat under a
// key in practice, across restarts too, so no nonce state is kept.
class DatagramSealer {
 public:
  static constexpr std::size_t header_size = 28;
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t overhead = header_size + tag_size;
  static constexpr std::uint8_t version = 1;

  DatagramSealer(KeyRing keys, std::size_t max_datagram);

  void seal(std::string_view plaintext, std::string& out) const;

  struct Opened {
    std::optional<DropReason> dropped;  // set when the datagram must be dropped
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
};

}  // namespace ctsync

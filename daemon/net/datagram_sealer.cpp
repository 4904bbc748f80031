#include "net/datagram_sealer.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace ctsync {

namespace {
constexpr std::uint8_t magic0 = 'C';
constexpr std::uint8_t magic1 = 'S';
}  // namespace

DatagramSealer::DatagramSealer(KeyRing keys, std::size_t max_datagram, bool legacy)
    : keys_(std::move(keys)), max_datagram_(max_datagram), legacy_(legacy) {
  static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
  static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == tag_size);
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

void DatagramSealer::seal(std::string_view plaintext, std::string& out, Sealing sealing) const {
  sealing = sealing_for(sealing);
  const SecretKey* key = keys_.find(keys_.send_id(), sealing);
  out.resize(header_size + plaintext.size() + tag_size);
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = magic0;
  p[1] = magic1;
  p[2] = static_cast<std::uint8_t>(sealing);
  p[3] = keys_.send_id();
  randombytes_buf(p + 4, 24);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + header_size, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), p, header_size, nullptr, p + 4, key->data());
  out.resize(header_size + clen);
}

DatagramSealer::Opened DatagramSealer::open(std::string_view datagram, std::string& out) const {
  if (datagram.size() > max_datagram_) return {DropReason::oversized};
  if (datagram.size() < overhead) return {DropReason::truncated};
  const auto* p = reinterpret_cast<const unsigned char*>(datagram.data());
  if (p[0] != magic0 || p[1] != magic1) return {DropReason::bad_magic};
  const auto sealing = static_cast<Sealing>(p[2]);
  if (sealing != Sealing::derived_key && (sealing != Sealing::raw_key || !legacy_)) {
    return {DropReason::bad_version};
  }
  const SecretKey* key = keys_.find(p[3], sealing);
  if (key == nullptr) return {DropReason::unknown_key};
  out.resize(datagram.size() - overhead);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr, p + header_size,
          datagram.size() - header_size, p, header_size, p + 4, key->data()) != 0) {
    out.clear();
    return {DropReason::auth_failed};
  }
  out.resize(mlen);
  return {std::nullopt, sealing};
}

}  // namespace ctsync

#include "net/key_ring.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <stdexcept>

namespace ctsync {

namespace {
// crypto_kdf's context: eight bytes naming the protocol and the purpose. Subkey 1 of it seals
// sync datagrams; another purpose takes another context, never this one.
constexpr char sealing_context[crypto_kdf_CONTEXTBYTES + 1] = "ctsyncDG";
constexpr std::uint64_t sealing_subkey = 1;
static_assert(crypto_kdf_KEYBYTES == sizeof(SecretKey));
}  // namespace

namespace {
void derive_into(SecretKey& out, const SecretKey& key) {
  crypto_kdf_derive_from_key(out.data(), out.size(), sealing_subkey, sealing_context, key.data());
}
}  // namespace

SecretKey derive_sealing_key(const SecretKey& key) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  SecretKey out{};
  derive_into(out, key);
  return out;
}

void KeyRing::SecureFree::operator()(Keys* keys) const {
  sodium_free(keys);  // wipes the keys before it unmaps them
}

void KeyRing::add(std::uint8_t id, const SecretKey& key) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  void* memory = sodium_malloc(sizeof(Keys));
  if (memory == nullptr) throw std::bad_alloc();
  SecureKey slot(new (memory) Keys{key, {}});
  // Derived in place: no copy of the derived key outside the secure allocation.
  derive_into(slot->derived, key);
  keys_[id] = std::move(slot);
}

KeyRing::KeyRing(const KeyRing& other) : send_id_(other.send_id_) {
  for (const auto& [id, keys] : other.keys_) add(id, keys->raw);
}

KeyRing& KeyRing::operator=(const KeyRing& other) {
  if (this != &other) {
    KeyRing copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Result<void> KeyRing::set_send_id(std::uint8_t id) {
  if (keys_.count(id) == 0) return make_error("send key id " + std::to_string(id) + " has no key");
  send_id_ = id;
  return {};
}

const SecretKey* KeyRing::find(std::uint8_t id, Sealing sealing) const {
  auto it = keys_.find(id);
  if (it == keys_.end()) return nullptr;
  return sealing == Sealing::raw_key ? &it->second->raw : &it->second->derived;
}

std::size_t distinct_byte_values(const SecretKey& key) {
  std::array<bool, 256> seen{};
  std::size_t n = 0;
  for (const std::uint8_t b : key) {
    if (!seen[b]) seen[b] = true, ++n;
  }
  return n;
}

Result<SecretKey> load_key_file(const std::string& path, bool strict) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error("key file " + path + ": " + std::strerror(errno), errno);
  }
  if (!S_ISREG(st.st_mode)) return make_error("key file " + path + ": not a regular file");
  // Whoever reads the key can forge every sync datagram: others never, the service's group
  // at most reading, the owner root (or, outside --strict, the user the daemon runs as).
  if ((st.st_mode & (S_IRWXO | S_IWGRP | S_IXGRP | S_IXUSR)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error("key file " + path + ": mode " + mode +
                      " is too open (others must have no access, the group at most read): run "
                      "chmod 0600 " +
                      path + " (or chmod 0640 with the service's group)");
  }
  if (st.st_uid != 0 && (strict || st.st_uid != ::geteuid())) {
    return make_error("key file " + path + ": owned by uid " + std::to_string(st.st_uid) +
                      ", not root: run chown root " + path);
  }
  std::ifstream in(path);
  if (!in) return make_error("key file " + path + ": cannot be read");
  std::string text(std::istreambuf_iterator<char>(in), {});
  // The hex text is the key too: wiped on every way out.
  struct Wipe {
    std::string& s;
    ~Wipe() { sodium_memzero(s.data(), s.size()); }
  } wipe{text};
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.size() != 64) {
    return make_error("key file " + path +
                      ": expected 64 hexadecimal characters (32 bytes), found " +
                      std::to_string(text.size()) + " characters");
  }
  SecretKey key{};
  std::size_t bin_len = 0;
  if (sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &bin_len,
                     nullptr) != 0 ||
      bin_len != key.size()) {
    return make_error("key file " + path + ": not hexadecimal");
  }
  if (const std::size_t n = distinct_byte_values(key); n < min_distinct_key_bytes) {
    sodium_memzero(key.data(), key.size());
    return make_error("key file " + path + ": not a random key (" + std::to_string(n) +
                      " distinct byte values; a random 32-byte key has about 30): make one "
                      "with ctsyncctl keygen " +
                      path);
  }
  Result<SecretKey> out(key);
  sodium_memzero(key.data(), key.size());
  return out;
}

std::string generate_key_text() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  SecretKey key{};
  randombytes_buf(key.data(), key.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  sodium_memzero(key.data(), key.size());
  return std::string(hex) + "\n";
}

}  // namespace ctsync

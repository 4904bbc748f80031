#include "net/key_ring.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ctsync {

Result<void> KeyRing::set_send_id(std::uint8_t id) {
  if (keys_.count(id) == 0) return make_error("send key id " + std::to_string(id) + " has no key");
  send_id_ = id;
  return {};
}

const SecretKey* KeyRing::find(std::uint8_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<SecretKey> load_key_file(const std::string& path, bool strict) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error("key file " + path + ": " + std::strerror(errno), errno);
  }
  if (!S_ISREG(st.st_mode)) return make_error("key file " + path + ": not a regular file");
  if (strict) {
    if (st.st_uid != 0) return make_error("key file " + path + ": not owned by root");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      return make_error("key file " + path +
                        ": readable or writable by group or others (chmod 600 it)");
    }
  }
  std::ifstream in(path);
  if (!in) return make_error("key file " + path + ": cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
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
  return key;
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

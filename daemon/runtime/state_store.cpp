#include "runtime/state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ctsync {

Result<void> StateStore::write_atomically(const std::string& name, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return make_error("state directory " + dir_ + ": " + ec.message());
  const std::string path = dir_ + "/" + name;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(tmp + ": " + std::strerror(errno), errno);
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error(path + ": " + std::strerror(errno), errno);
  }
  return {};
}

Result<std::uint64_t> StateStore::next_boot_id(std::uint64_t wall_ms) {
  std::uint64_t last = 0;
  std::ifstream(dir_ + "/boot_id") >> last;
  const std::uint64_t next = std::max(last + 1, wall_ms);
  if (auto r = write_atomically("boot_id", std::to_string(next) + "\n"); !r) return r.error();
  return next;
}

std::optional<Role> StateStore::load_role() const {
  std::string s;
  std::ifstream(dir_ + "/role") >> s;
  for (Role r : {Role::active, Role::backup, Role::fault})
    if (s == role_name(r)) return r;
  return std::nullopt;
}

Result<void> StateStore::save_role(Role role) {
  return write_atomically(
      "role", std::string(role_name(role == Role::unknown ? Role::backup : role)) + "\n");
}

Result<void> StateStore::set_commit_pending(bool pending) {
  if (pending) return write_atomically("commit_pending", "1\n");
  std::error_code ec;
  std::filesystem::remove(dir_ + "/commit_pending", ec);
  return {};
}

bool StateStore::commit_pending() const {
  std::error_code ec;
  return std::filesystem::exists(dir_ + "/commit_pending", ec);
}

}  // namespace ctsync

namespace ctsync {

namespace {
// Bounded: read once at start-up; a runaway file is cut, not trusted.
std::string read_bounded(const std::string& path) {
  std::ifstream in(path);
  std::string text(64 * 1024, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}
}  // namespace

std::string StateStore::load_takeovers() const {
  return read_bounded(dir_ + "/takeovers");
}

Result<void> StateStore::save_takeovers(const std::string& text) {
  return write_atomically("takeovers", text);
}

std::string StateStore::load_peer_marks() const {
  return read_bounded(dir_ + "/peers");
}

Result<void> StateStore::save_peer_marks(const std::string& text) {
  return write_atomically("peers", text);
}

}  // namespace ctsync

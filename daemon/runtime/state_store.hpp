#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "ctsync/result.hpp"
#include "ports/state_port.hpp"

namespace ctsync {

// What a node remembers across restarts, in its state directory: the last boot id (boot ids
// must grow, so peers can tell a restart from a replay) and its role (so a daemon restarted
// on the active node resumes as active; keepalived will not call its notify script again).
class StateStore final : public ports::StatePort {
 public:
  explicit StateStore(std::string dir) : dir_(std::move(dir)) {}

  // max(last + 1, wall-clock milliseconds), written back before it is used.
  Result<std::uint64_t> next_boot_id(std::uint64_t wall_ms) override;
  std::optional<Role> load_role() const override;
  Result<void> save_role(Role role) override;
  // Set while a promotion's commit runs.
  Result<void> set_commit_pending(bool pending) override;
  bool commit_pending() const override;
  std::string load_takeovers() const override;
  Result<void> save_takeovers(const std::string& text) override;
  std::string load_peer_marks() const override;
  Result<void> save_peer_marks(const std::string& text) override;
  const std::string& dir() const { return dir_; }

 private:
  Result<void> write_atomically(const std::string& name, const std::string& content);
  std::string dir_;
};

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/role.hpp"
#include "ctsync/result.hpp"

namespace ctsync::ports {

// What a node remembers across restarts: boot ids (they must grow, so peers can tell a
// restart from a replay), its role (a daemon restarted on the active node resumes as active;
// keepalived will not call its notify script again) and whether a promotion's commit was
// running when it stopped.
class StatePort {
 public:
  virtual ~StatePort() = default;
  // max(last + 1, wall-clock milliseconds), written back before it is used.
  virtual Result<std::uint64_t> next_boot_id(std::uint64_t wall_ms) = 0;
  virtual std::optional<Role> load_role() const = 0;
  virtual Result<void> save_role(Role role) = 0;
  virtual Result<void> set_commit_pending(bool pending) = 0;
  virtual bool commit_pending() const = 0;
  // The report of the last takeovers (TakeoverHistory's text); empty when none.
  virtual std::string load_takeovers() const = 0;
  virtual Result<void> save_takeovers(const std::string& text) = 0;
  // The newest datagram accepted from each peer (peer_marks_to_text); empty when none.
  virtual std::string load_peer_marks() const = 0;
  virtual Result<void> save_peer_marks(const std::string& text) = 0;
};

}  // namespace ctsync::ports

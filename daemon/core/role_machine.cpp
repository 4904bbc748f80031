#include "core/role_machine.hpp"

namespace ctsync {

RoleActions RoleMachine::request(v1::Role target) {
  RoleActions a;
  if (target == role_) {
    a.unchanged = true;
    return a;
  }
  const v1::Role from = role_;
  role_ = target;
  if (target == v1::ROLE_ACTIVE) {
    // Direct mode wrote the peers' flows as they came; the commit then only retries the
    // ones that failed. External mode writes them all now.
    a.flush_injections = mode_ == CacheMode::direct;
    a.stop_injecting = mode_ == CacheMode::direct;
    a.commit = true;
    a.announce_after_commit = true;
    committing_ = true;
    return a;
  }
  // Stepping down (to backup or fault).
  a.cancel_commit = committing_;
  committing_ = false;
  a.request_resync = true;
  if (mode_ == CacheMode::direct) {
    a.start_injecting = true;  // our kernel now keeps the new active node's flows
  } else if (from == v1::ROLE_ACTIVE) {
    a.schedule_purge = true;  // what we served as active is the new active node's now
  }
  return a;
}

}  // namespace ctsync

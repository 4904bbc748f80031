#include "core/role_machine.hpp"

namespace ctsync {

RoleActions RoleMachine::resume(bool commit_pending) {
  RoleActions a;
  if (role_ == Role::active) {
    if (commit_pending) {
      // Our copy of the peers' flows died with the process: every peer is asked for its
      // table and the commit is redone from every complete copy.
      a.commit = CommitScope::every_complete_copy;
      committing_ = true;
    }
    a.announce_after_commit = commit_pending;
    a.announce_now = !commit_pending;
    return a;
  }
  a.start_injecting = mode_ == CacheMode::direct;
  return a;
}

RoleActions RoleMachine::request(Role target) {
  RoleActions a;
  if (target == role_) {
    a.unchanged = true;
    return a;
  }
  const Role from = role_;
  role_ = target;
  a.save_role = true;
  a.stop_purge = true;
  if (target == Role::active) {
    // Direct mode wrote the peers' flows as they came; the commit then only retries the
    // ones that failed. External mode writes them all now.
    a.flush_injections = mode_ == CacheMode::direct;
    a.stop_injecting = true;
    a.commit = manual_commit();
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
  } else if (from == Role::active) {
    a.schedule_purge = true;  // what we served as active is the new active node's now
  }
  return a;
}

}  // namespace ctsync

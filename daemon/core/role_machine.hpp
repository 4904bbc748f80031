#pragma once
#include <optional>

#include "ctsync/clock.hpp"
#include "ctsync/v1/sync.pb.h"

namespace ctsync {

enum class CacheMode { external, direct };

// What a role change asks the node to do, in this order.
struct RoleActions {
  bool unchanged = false;         // already in that role: nothing to do
  bool cancel_commit = false;     // a commit in progress no longer applies
  bool flush_injections = false;  // direct mode: write what is queued before taking over
  bool stop_injecting = false;
  bool commit = false;  // write the peers' flows to the kernel (then re-read it)
  bool announce_after_commit = false;
  bool request_resync = false;   // ask the (new) active node for its table
  bool start_injecting = false;  // direct mode backup: hold the active node's flows
  bool schedule_purge = false;   // external mode: expire our stale kernel entries later
};

// backup -> active -> backup, and fault from anywhere. Decides what each transition needs;
// the node carries it out. Pure, so every transition is tested without a kernel.
class RoleMachine {
 public:
  RoleMachine(CacheMode mode, v1::Role initial) : mode_(mode), role_(initial) {}

  RoleActions request(v1::Role target);
  // The commit of a promotion finished (or was cancelled).
  void commit_done() { committing_ = false; }

  v1::Role role() const { return role_; }
  bool committing() const { return committing_; }
  CacheMode mode() const { return mode_; }

 private:
  CacheMode mode_;
  v1::Role role_;
  bool committing_ = false;
};

}  // namespace ctsync

#pragma once
#include "core/role.hpp"

namespace ctsync {

enum class CacheMode { external, direct };

// Which flows a commit writes.
enum class CommitScope {
  none,
  peers_seen_active,    // the copies of peers that were active since we last were
  failed_injections,    // direct mode: only what the injector could not write
  every_complete_copy,  // recovery: every complete copy of every peer
};

// What a role change (or a restart in a role) asks the node to do, in this order. The
// failover controller carries out exactly this and decides nothing itself.
struct RoleActions {
  bool unchanged = false;         // already in that role: nothing to do
  bool cancel_commit = false;     // a commit in progress no longer applies
  bool flush_injections = false;  // direct mode: write what is queued before taking over
  bool stop_injecting = false;    // our kernel is our own traffic's now
  bool stop_purge = false;        // a purge scheduled when we stepped down no longer applies
  bool save_role = false;         // remember the role across restarts
  CommitScope commit = CommitScope::none;  // write the peers' flows (then re-read the kernel)
  bool announce_after_commit = false;      // send our table once the commit is read back
  bool announce_now = false;               // send our table (active after a restart)
  bool request_resync = false;             // ask the (new) active node for its table
  bool start_injecting = false;            // direct mode backup: hold the active node's flows
  bool schedule_purge = false;             // external mode: expire our stale kernel entries later
};

// backup -> active -> backup, and fault from anywhere. Decides what each transition needs.
// Pure, so every transition is tested without a kernel.
class RoleMachine {
 public:
  RoleMachine(CacheMode mode, Role initial) : mode_(mode), role_(initial) {}

  // The daemon starts (or restarts) in its remembered role, after its first kernel read.
  // `commit_pending`: a promotion's commit was cut short by the last exit.
  RoleActions resume(bool commit_pending);
  RoleActions request(Role target);
  // What `ctsyncctl commit` writes, whatever the role: what a promotion would.
  CommitScope manual_commit() const {
    return mode_ == CacheMode::direct ? CommitScope::failed_injections
                                      : CommitScope::peers_seen_active;
  }
  // The commit of a promotion finished (or was cancelled).
  void commit_done() { committing_ = false; }

  Role role() const { return role_; }
  bool committing() const { return committing_; }
  CacheMode mode() const { return mode_; }

 private:
  CacheMode mode_;
  Role role_;
  bool committing_ = false;
};

}  // namespace ctsync

#pragma once
#include <functional>
#include <memory>
#include <string>

#include "app/direct_injector.hpp"
#include "app/kernel_counters.hpp"
#include "app/kernel_mirror.hpp"
#include "app/kernel_write_job.hpp"
#include "app/takeover_gate.hpp"
#include "control/control_reply.hpp"
#include "core/role_machine.hpp"
#include "core/sync_engine.hpp"
#include "core/takeover_record.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"
#include "ports/state_port.hpp"
#include "ports/sync_link.hpp"

namespace ctsync::app {

struct FailoverSettings {
  CacheMode mode = CacheMode::external;
  std::size_t commit_batch = 2000;
  Duration purge_after = seconds(30);
  std::uint32_t purge_timeout = 30;
  Duration commit_delay = Duration::zero();  // tests of the takeover race only
  Duration peer_timeout = seconds(1);
};

struct FailoverPorts {
  ports::KernelPort& kernel;
  ports::Scheduler& loop;
  ports::StatePort& state;
  ports::SyncLink& link;
};

// Carries out role changes exactly as RoleMachine decides them: the commit of the peers'
// flows (in CommitPlan's order, in batches), its redo after a restart that cut it short, the
// purge after stepping down, and direct mode's injector. Decides nothing itself. The takeover
// gate listens while the node is not active and until a promotion's commit is done; each
// takeover's cost is recorded and kept in the state directory.
class FailoverController {
 public:
  using Status = std::function<void(const std::string&)>;  // "backup", "active", ...

  FailoverController(FailoverSettings settings, Role initial, FailoverPorts ports,
                     SyncEngine& engine, KernelMirror& mirror, DirectInjector& injector,
                     TakeoverGate& gate, KernelCounters& counters, Status status);
  ~FailoverController();

  // The first kernel pass is done: take up the remembered role (redo an interrupted commit,
  // announce our table, or start injecting).
  void resume();
  void change_role(Role target, Respond respond);
  // ctsyncctl commit: write the peers' flows now, whatever the role.
  void commit_now(Respond respond);
  void stop();

  Role role() const { return roles_.role(); }
  const KernelWriteJob* running_commit() const { return commit_job_.get(); }
  const TakeoverHistory& takeovers() const { return takeovers_; }
  const TakeoverGate& gate() const { return gate_; }
  void apply(const FailoverSettings& s);

 private:
  void apply_role(Role role);
  void commit(CommitScope scope, std::function<void(const WriteReport&)> done);
  void commit_expectations(CommitScope scope);
  void recover_interrupted_commit();
  void schedule_purge();
  void start_injecting();
  void stand_by();  // not active: the gate listens, the next takeover starts afresh
  void takeover_started();
  void takeover_committed(const WriteReport& report);
  void save_takeovers();

  FailoverSettings settings_;
  RoleMachine roles_;
  FailoverPorts ports_;
  SyncEngine& engine_;
  KernelMirror& mirror_;
  DirectInjector& injector_;
  TakeoverGate& gate_;
  KernelCounters& counters_;
  Status status_;
  std::unique_ptr<ports::Timer> purge_timer_;
  std::unique_ptr<ports::Timer> delay_timer_;
  std::unique_ptr<ports::Timer> recovery_timer_;
  std::shared_ptr<KernelWriteJob> commit_job_;
  std::uint32_t stepped_down_epoch_ = 0;
  TakeoverHistory takeovers_;
  TimePoint promoted_at_{};
  HoldCounters hold_at_standby_;       // the gate's counters when the takeover's count began
  std::size_t skipped_on_demand_ = 0;  // by the running commit
  bool stopped_ = false;
};

}  // namespace ctsync::app

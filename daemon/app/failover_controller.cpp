#include "app/failover_controller.hpp"

#include "core/commit_plan.hpp"
#include "core/copy_completion_wait.hpp"
#include "log/log.hpp"

namespace ctsync::app {

FailoverController::FailoverController(FailoverSettings settings, Role initial, FailoverPorts ports,
                                       SyncEngine& engine, KernelMirror& mirror,
                                       DirectInjector& injector, TakeoverGate& gate,
                                       KernelCounters& counters, Status status)
    : settings_(settings),
      roles_(settings.mode, initial),
      ports_(ports),
      engine_(engine),
      mirror_(mirror),
      injector_(injector),
      gate_(gate),
      counters_(counters),
      status_(std::move(status)),
      purge_timer_(ports.loop.timer()),
      delay_timer_(ports.loop.timer()),
      recovery_timer_(ports.loop.timer()),
      takeovers_(TakeoverHistory::decode(ports.state.load_takeovers())) {}

FailoverController::~FailoverController() = default;

void FailoverController::apply(const FailoverSettings& s) {
  settings_.commit_batch = s.commit_batch;
  settings_.purge_after = s.purge_after;
  settings_.purge_timeout = s.purge_timeout;
  injector_.set_batch(s.commit_batch);
  mirror_.set_write_batch(s.commit_batch);
}

void FailoverController::stop() {
  stopped_ = true;
  if (commit_job_) commit_job_->cancel();
  purge_timer_->cancel();
  delay_timer_->cancel();
  recovery_timer_->cancel();
  injector_.set_enabled(false);
  gate_.close();
}

void FailoverController::stand_by() {
  gate_.reset();
  hold_at_standby_ = gate_.hold().counters();
  gate_.open();
}

void FailoverController::takeover_started() {
  gate_.promoted();
  promoted_at_ = ports_.loop.now();
  TakeoverRecord r;
  r.promoted_at_ms = ports_.loop.wall_ms();
  if (const auto first = gate_.hold().first_held())
    r.first_held_s = std::chrono::duration<double>(*first - promoted_at_).count();
  takeovers_.add(r);
  save_takeovers();
}

void FailoverController::takeover_committed(const WriteReport& report) {
  TakeoverRecord* r = takeovers_.latest();
  if (r == nullptr) return;
  const HoldCounters& now = gate_.hold().counters();
  if (!r->first_held_s) {
    if (const auto first = gate_.hold().first_held())
      r->first_held_s = std::chrono::duration<double>(*first - promoted_at_).count();
  }
  r->commit_end_s = std::chrono::duration<double>(ports_.loop.now() - promoted_at_).count();
  r->flows_on_demand = now.flows_written - hold_at_standby_.flows_written;
  r->flows_committed = report.total - report.failed;
  // A failed on-demand write is tried again by the commit: only the commit's failures are
  // flows the takeover lost.
  r->failed = report.failed;
  for (const auto& [err, n] : report.failures) r->failures[err] += n;
  r->packets_held = now.held - hold_at_standby_.held;
  r->packets_released_late = now.released_late - hold_at_standby_.released_late;
  r->packets_overflow = now.overflow - hold_at_standby_.overflow;
  log::info("takeover: " + r->summary());
  save_takeovers();
}

void FailoverController::save_takeovers() {
  if (auto r = ports_.state.save_takeovers(takeovers_.encode()); !r)
    log::warning("cannot keep the takeover report: " + r.error().message);
}

void FailoverController::start_injecting() {
  // The injector sees changes only while enabled; what peers sent before (a bulk that
  // arrived during our start-up dump, say) goes in now.
  injector_.set_enabled(true);
  for (const auto& [id, p] : engine_.peers()) {
    for (const auto& e : p->table()) injector_.peer_flow_upserted(id, e.flow);
  }
}

void FailoverController::resume() {
  engine_.set_role(roles_.role(), ports_.loop.now());
  const RoleActions a = roles_.resume(ports_.state.commit_pending());
  if (a.commit == CommitScope::every_complete_copy) recover_interrupted_commit();
  if (a.announce_now) {
    engine_.takeover_complete();  // active before the restart, its commit long done
    engine_.announce_table();
  }
  if (a.start_injecting) start_injecting();
  // An active node's traffic never goes through user space, except while a commit that was
  // cut short is redone.
  if (roles_.role() != Role::active || a.commit == CommitScope::every_complete_copy) stand_by();
  ports_.link.kick();
}

void FailoverController::apply_role(Role role) {
  ++counters_.role_changes;
  if (auto r = ports_.state.save_role(role); !r)
    log::warning("cannot remember the role: " + r.error().message);
  // Flows first seen from now on belong to the new role (the purge spares them).
  const std::uint32_t epoch = engine_.begin_local_epoch();
  if (role != Role::active) stepped_down_epoch_ = epoch;
  engine_.set_role(role, ports_.loop.now());
  if (status_) status_(std::string(role_name(role)));
  ports_.link.kick();
}

void FailoverController::change_role(Role target, Respond respond) {
  const RoleActions a = roles_.request(target);
  if (a.unchanged) {
    respond({true, "", "already " + std::string(role_name(target)) + "\n"});
    return;
  }
  log::info("role: " + std::string(role_name(target)));
  if (a.cancel_commit && commit_job_) commit_job_->cancel();
  if (a.flush_injections) injector_.flush();
  if (a.stop_injecting) injector_.set_enabled(false);
  if (a.stop_purge) purge_timer_->cancel();
  if (a.save_role) apply_role(target);
  if (a.request_resync) engine_.request_resync(ports_.loop.now());
  if (a.start_injecting) start_injecting();
  if (a.schedule_purge) schedule_purge();
  if (target == Role::active) {
    takeover_started();
  } else {
    stand_by();
  }
  ports_.link.kick();
  if (a.commit == CommitScope::none) {
    if (target == Role::active) {
      takeover_committed(WriteReport{});
      gate_.close();
    }
    respond({true, "", std::string(role_name(target)) + "\n"});
    return;
  }
  // Remembered until the commit is done: a daemon killed meanwhile redoes it on restart.
  if (auto r = ports_.state.set_commit_pending(true); !r) log::warning(r.error().message);
  const bool announce = a.announce_after_commit;
  auto run_commit = [this, respond, scope = a.commit, announce] {
    if (TakeoverRecord* r = takeovers_.latest())
      r->commit_start_s = std::chrono::duration<double>(ports_.loop.now() - promoted_at_).count();
    commit(scope, [this, respond, announce](const WriteReport& report) {
      roles_.commit_done();
      (void)ports_.state.set_commit_pending(false);
      log::info("commit: " + report.summary());
      takeover_committed(report);
      if (roles_.role() == Role::active) gate_.close();
      // The kernel holds the peers' flows: the caller (keepalived's notify) hears so now;
      // reading the kernel back as ours and telling the peers come after.
      respond({report.failed == 0, report.failed ? "commit incomplete: " + report.summary() : "",
               "active; commit " + report.summary() + "\n"});
      mirror_.pass([this, announce, complete = report.failed == 0] {
        mirror_.reload_expectations();
        if (complete) engine_.takeover_complete();
        if (announce && roles_.role() == Role::active) engine_.announce_table();
        ports_.link.kick();
      });
    });
  };
  if (settings_.commit_delay > Duration::zero()) {
    delay_timer_->start(settings_.commit_delay, run_commit);
  } else {
    run_commit();
  }
}

void FailoverController::commit_now(Respond respond) {
  if (commit_job_) {
    respond({false, "a commit is already running", ""});
    return;
  }
  commit(roles_.manual_commit(), [this, respond](const WriteReport& r) {
    log::info("commit: " + r.summary());
    respond({r.failed == 0, r.failed ? "commit incomplete: " + r.summary() : "",
             "commit " + r.summary() + "\n"});
    // Events were paused during the commit: read the kernel back. An active node whose
    // promotion left flows unwritten now holds them all: it says so to its peers.
    const bool completes = r.failed == 0 && roles_.role() == Role::active && !roles_.committing() &&
                           !engine_.takeover_done();
    mirror_.pass([this, completes] {
      if (!completes || roles_.role() != Role::active) return;
      engine_.takeover_complete();
      engine_.announce_table();
      ports_.link.kick();
    });
  });
}

void FailoverController::commit(CommitScope scope, std::function<void(const WriteReport&)> done) {
  auto items = std::make_shared<std::vector<CommitItem>>();
  if (scope == CommitScope::failed_injections) {
    for (const auto& [peer, key] : injector_.take_failed()) items->push_back({peer, key});
  } else {
    *items = plan_commit(scope == CommitScope::every_complete_copy ? engine_.complete_peers()
                                                                   : engine_.commit_sources());
  }
  auto cursor = std::make_shared<std::size_t>(0);
  skipped_on_demand_ = 0;
  auto source = [this, items, cursor](Flow& out) {
    while (*cursor < items->size()) {
      const CommitItem& item = (*items)[(*cursor)++];
      // Written when its packets arrived; the kernel's entry is live, ours would be older.
      if (gate_.written_on_demand(item.key)) {
        ++skipped_on_demand_;
        continue;
      }
      auto it = engine_.peers().find(item.peer);
      if (it == engine_.peers().end()) continue;
      if (const auto f = it->second->table().find_flow(item.key)) {
        out = *f;
        return true;
      }
    }
    return false;
  };
  // Out of the event groups while we write: our own writes' events are of no use to us, and
  // with no listener the kernel does not build them at all, so a commit of many flows runs
  // at the kernel's ceiling. Events of real traffic meanwhile are read back by the local
  // pass that follows every commit.
  const bool paused =
      items->size() >= settings_.commit_batch && ports_.kernel.pause_creation_events().ok();
  log::debug("commit of " + std::to_string(items->size()) + " flows" +
             (paused ? ", kernel events paused" : ""));
  commit_job_ = std::make_shared<KernelWriteJob>(
      ports_.loop, ports_.kernel, KernelWriteJob::Mode::upsert, settings_.commit_batch, source,
      [this, done, paused, scope](const WriteReport& report) {
        commit_job_.reset();
        if (skipped_on_demand_ != 0) {
          log::info("commit: " + std::to_string(skipped_on_demand_) +
                    " flows were written on demand already");
        }
        if (paused) {
          if (auto r = ports_.kernel.resume_creation_events(); !r)
            log::error("cannot subscribe to kernel events again: " + r.error().message);
        }
        ++counters_.commits;
        counters_.commit_totals.add(report);
        counters_.last_commit = report;
        counters_.commit_seconds.push_back(std::chrono::duration<double>(report.duration).count());
        commit_expectations(scope);
        done(report);
      });
  commit_job_->start();
}

void FailoverController::commit_expectations(CommitScope scope) {
  if (!ports_.kernel.synchronises_expectations()) return;
  std::size_t created = 0, failed = 0;
  const auto sources = scope == CommitScope::every_complete_copy ? engine_.complete_peers()
                                                                 : engine_.commit_sources();
  for (const PeerReplica* p : sources) {
    for (const auto& [key, entry] : p->expectations()) {
      if (auto r = ports_.kernel.create_expectation(entry.expectation); r) {
        ++created;
      } else {
        ++failed;
        // Typically the master is gone (ENOENT) or its helper is not loaded here.
        log::warning("commit: expectation not created: " + r.error().message);
      }
    }
  }
  counters_.expectations_created += created;
  counters_.expectations_failed += failed;
  if (created + failed != 0) {
    log::info("commit: " + std::to_string(created) + " expectations created, " +
              std::to_string(failed) + " failed");
  }
}

void FailoverController::schedule_purge() {
  const PurgePlan plan{settings_.purge_timeout, stepped_down_epoch_};
  purge_timer_->start(settings_.purge_after, [this, plan] {
    if (stopped_ || roles_.role() == Role::active) return;
    mirror_.purge(plan, [](const WriteReport& report) {
      log::info("purge: stale entries from our time as active: " + report.summary());
    });
  });
}

// A promotion's commit was cut short (the daemon was killed): our peers' flows were only
// partly written and our copy of them died with the process. Every peer, active or not, is
// asked for its table; when CopyCompletionWait says the copies are complete (or have stopped
// growing), the commit is done again from them, and the result announced. Requests are
// repeated only for `asking`: repeating them longer restarts bulks that are under way.
void FailoverController::recover_interrupted_commit() {
  log::warning(
      "the last promotion's commit was interrupted: asking every peer for its table to redo it");
  const TimePoint requested = ports_.loop.now();
  const Duration asking = std::max<Duration>(5 * settings_.peer_timeout, seconds(3));
  engine_.request_handover(requested, asking);
  ports_.link.kick();
  auto wait = std::make_shared<CopyCompletionWait>(
      requested, std::max<Duration>(asking, seconds(10)), seconds(3));
  auto check = std::make_shared<std::function<void()>>();
  *check = [this, wait, check] {
    if (stopped_) return;
    if (roles_.role() != Role::active) {
      // Stepped down while waiting: the commit no longer applies.
      (void)ports_.state.set_commit_pending(false);
      log::info("the interrupted commit is not redone: no longer active");
      ports_.loop.post([check] { *check = nullptr; });
      return;
    }
    const TimePoint now = ports_.loop.now();
    bool all = !engine_.peers().empty();
    std::size_t flows = 0;
    for (const auto& [id, p] : engine_.peers()) {
      if (engine_.peer_up(*p, now) && !p->complete()) all = false;
      flows += p->table().size();
    }
    if (!wait->done(now, all, flows)) {
      recovery_timer_->start(milliseconds(100), [check] { (*check)(); });
      return;
    }
    commit(CommitScope::every_complete_copy, [this](const WriteReport& report) {
      roles_.commit_done();
      (void)ports_.state.set_commit_pending(false);
      log::info("recovered commit: " + report.summary());
      if (roles_.role() == Role::active) gate_.close();
      mirror_.pass([this, complete = report.failed == 0] {
        if (complete) engine_.takeover_complete();
        if (roles_.role() == Role::active) engine_.announce_table();
        ports_.link.kick();
      });
    });
    ports_.loop.post([check] { *check = nullptr; });  // break the cycle, once we are out of it
  };
  (*check)();
}

}  // namespace ctsync::app

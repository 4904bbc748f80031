#include "app/control_commands.hpp"

#include <memory>

#include "control/flow_listing.hpp"

namespace ctsync::app {

StatusView ControlCommands::status() const {
  const TimePoint now = p_.loop.now();
  const SyncEngine& e = p_.engine;
  StatusView v;
  v.node_id = id_.node_id;
  v.boot_id = id_.boot_id;
  v.role = p_.failover.role();
  v.not_ready_reason = id_.started() ? e.readiness_reason(now) : "starting";
  v.cache_mode = id_.cache_mode;
  v.internal_flows = e.local().size();
  v.external_flows = e.external_size();
  if (const auto* job = p_.failover.running_commit()) v.commit_progress = job->progress().total;
  const auto size = p_.kernel.table_size();
  v.kernel_entries = size.entries;
  v.kernel_max = size.max;
  v.transport = id_.transport ? id_.transport() : "";
  for (const auto& [pid, p] : e.peers()) {
    v.peers.push_back({pid, e.peer_up(*p, now), p->role(),
                       std::chrono::duration<double>(now - p->last_heard()).count(), p->complete(),
                       p->in_sync(now), p->lag_packets(), p->table().size(),
                       std::chrono::duration<double>(p->behind(now)).count()});
  }
  const LatencyHistogram& latency = e.sender().in_flight().all_peers();
  v.latency_changes = latency.count();
  v.latency_p50_s = latency.quantile(0.5);
  v.latency_p99_s = latency.quantile(0.99);
  const auto risk = e.at_risk(now);
  v.changes_at_risk = risk.changes;
  v.at_risk_oldest_s = std::chrono::duration<double>(risk.oldest).count();
  if (p_.counters.last_commit) v.last_commit = p_.counters.last_commit->summary();
  const TakeoverGate& gate = p_.failover.gate();
  if (gate.configured()) {
    v.hold = StatusView::Hold{gate.describe(), gate.listening(), gate.hold().counters(),
                              gate.overruns()};
  }
  const auto& records = p_.failover.takeovers().records();
  v.takeovers.assign(records.begin(), records.end());
  return v;
}

StatsView ControlCommands::stats() const {
  const KernelCounters& k = p_.counters;
  StatsView v;
  v.events_new = k.events_new;
  v.events_update = k.events_update;
  v.events_destroy = k.events_destroy;
  v.events_ignored = k.events_ignored;
  v.overruns = k.overruns;
  v.resyncs = k.resyncs;
  v.commits = k.commits;
  v.netlink_buffer = p_.kernel.event_buffer_bytes();
  v.sync = p_.engine.counters();
  return v;
}

void ControlCommands::handle(const ControlRequest& req, Respond respond) {
  SyncEngine& engine = p_.engine;
  switch (req.command) {
    case ControlCommand::status:
      respond({true, "", render_status(status(), req.json)});
      return;
    case ControlCommand::stats:
      respond({true, "", render_stats(stats(), req.json)});
      return;
    case ControlCommand::flows: {
      auto listing = std::make_shared<FlowListing>(engine, req);
      ControlReply reply;
      const bool more = listing->next(reply.body);
      if (more) reply.more = [listing](std::string& out) { return listing->next(out); };
      respond(std::move(reply));
      return;
    }
    case ControlCommand::expectations:
      respond({true, "", render_expectations(engine, req, p_.kernel.synchronises_expectations())});
      return;
    case ControlCommand::promote:
      p_.failover.change_role(Role::active, std::move(respond));
      return;
    case ControlCommand::demote:
      p_.failover.change_role(Role::backup, std::move(respond));
      return;
    case ControlCommand::fault:
      p_.failover.change_role(Role::fault, std::move(respond));
      return;
    case ControlCommand::commit:
      p_.failover.commit_now(std::move(respond));
      return;
    case ControlCommand::flush:
      if (req.table == FlowTableChoice::external) {
        // Our copies of the peers' tables go; the active peer is asked for its table again.
        const std::size_t n = engine.external_size();
        engine.flush_peer_tables();
        engine.request_resync(p_.loop.now());
        p_.link.kick();
        respond({true, "",
                 "external cache flushed: " + std::to_string(n) +
                     " flows; asked the peers for their tables\n"});
      } else {
        // Read the kernel table again instead of forgetting it: flows still in the kernel must
        // not be announced as deleted to the peers.
        p_.mirror.pass([this, respond] {
          p_.link.kick();
          respond({true, "",
                   "internal cache rebuilt from the kernel: " +
                       std::to_string(p_.engine.local().size()) + " flows\n"});
        });
      }
      return;
    case ControlCommand::resync:
      engine.request_resync(p_.loop.now());
      p_.mirror.pass([this, respond] {
        p_.link.kick();
        respond({true, "",
                 "resynced from the kernel (" + std::to_string(p_.engine.local().size()) +
                     " flows); asked peers for their tables\n"});
      });
      return;
    case ControlCommand::bulk:
      // A backup announces nothing; its "table" would replace, at its peers, the copy of
      // what it served as active — the copy a promotion of theirs would commit.
      if (p_.failover.role() != Role::active) {
        respond({false, "not active: only the active node sends its table", ""});
        return;
      }
      engine.announce_table();
      p_.link.kick();
      respond({true, "", "sending " + std::to_string(engine.local().size()) + " flows to peers\n"});
      return;
    case ControlCommand::ready: {
      const std::string why = id_.started() ? engine.readiness_reason(p_.loop.now())
                                            : "starting: reading the kernel table";
      respond({why.empty(), why, why.empty() ? "ready\n" : "not ready: " + why + "\n"});
      return;
    }
  }
}

}  // namespace ctsync::app

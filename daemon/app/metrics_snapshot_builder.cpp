#include "app/metrics_snapshot_builder.hpp"

#include "ctsync/flow_format.hpp"

namespace ctsync::app {

MetricsSnapshot MetricsSnapshotBuilder::build(bool started) {
  MetricsSnapshot s;
  const TimePoint now = p_.loop.now();
  const SyncEngine& engine = p_.engine;
  KernelCounters& k = p_.counters;
  s.events_new = k.events_new;
  s.events_update = k.events_update;
  s.events_destroy = k.events_destroy;
  s.events_ignored = k.events_ignored;
  s.overruns = k.overruns;
  s.resyncs = k.resyncs;
  s.netlink_buffer_bytes = static_cast<std::uint64_t>(p_.kernel.event_buffer_bytes());
  s.flows_internal = engine.local().size();
  s.flows_external = engine.external_size();
  s.expectations_internal = engine.local_expectations().size();
  for (const auto& [id, p] : engine.peers()) s.expectations_external += p->expectations().size();
  s.expectation_events_new = k.expectation_events_new;
  s.expectation_events_destroy = k.expectation_events_destroy;
  s.expectations_created = k.expectations_created;
  s.expectations_failed = k.expectations_failed;
  s.sync = engine.counters();
  s.helper_names_refused_kernel = HelperName::refused(HelperName::Origin::kernel);
  s.helper_names_refused_peer = HelperName::refused(HelperName::Origin::peer);
  for (const auto& [id, p] : engine.peers()) {
    s.peers.push_back({id, engine.peer_up(*p, now), p->in_sync(now),
                       std::chrono::duration<double>(now - p->last_heard()).count(),
                       p->lag_packets(), p->table().size(),
                       std::chrono::duration<double>(p->behind(now)).count(), p->role()});
  }
  s.latency_all_peers = engine.sender().in_flight().all_peers();
  s.latency_per_peer = engine.sender().in_flight().per_peer();
  const auto risk = engine.at_risk(now);
  s.changes_at_risk = risk.changes;
  s.at_risk_oldest_seconds = std::chrono::duration<double>(risk.oldest).count();
  s.role = p_.failover.role();
  s.role_changes = k.role_changes;
  s.ready = started && engine.ready(now);
  s.commit_seconds = std::move(k.commit_seconds);
  k.commit_seconds.clear();
  s.committed_created = k.commit_totals.created;
  s.committed_updated = k.commit_totals.updated;
  s.committed_replaced = k.commit_totals.replaced;
  s.committed_failed = k.commit_totals.failed;
  for (const auto& [e, n] : k.commit_totals.failures) s.commit_failures[e] = n;
  const auto size = p_.kernel.table_size();
  s.kernel_entries = size.entries;
  s.kernel_max = size.max;
  const DirectStats& d = p_.injector.stats();
  s.direct_injected = d.injected;
  s.direct_failed = d.failed;
  s.direct_refreshed = d.refreshed;
  s.direct_removed = d.removed;
  const TakeoverGate& gate = p_.failover.gate();
  s.hold_configured = gate.configured();
  s.hold_listening = gate.listening();
  s.hold = gate.hold().counters();
  s.hold_socket_overruns = gate.overruns();
  const auto& takeovers = p_.failover.takeovers().records();
  s.takeovers = takeovers.size();
  if (!takeovers.empty()) s.last_takeover = takeovers.back();
  s.accounting_enabled = p_.mirror.accounting();
  s.traffic = p_.mirror.traffic();
  if (builds_++ % 5 == 0) {  // a walk over the whole table: not every second
    flows_by_state_.clear();
    for (const auto& e : engine.local()) {
      const Flow& f = e.flow;
      const auto proto =
          TrafficAccounting::protocol_label(TrafficAccounting::protocol_index(f.protocol()));
      const std::string state =
          f.protocol() == proto::tcp ? std::string(tcp_state_name(f.tcp.state)) : "none";
      ++flows_by_state_[{std::string(family_name(f.family())), std::string(proto), state}];
    }
  }
  s.flows_by_state = flows_by_state_;
  return s;
}

}  // namespace ctsync::app

#include "metrics/metrics_exporter.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cerrno>
#include <chrono>
#include <exception>

namespace ctsync {

namespace {

constexpr const char* roles[] = {"backup", "active", "fault"};
constexpr const char* hold_outcomes[] = {"passed", "held", "released", "released_unwritten",
                                         "overflow"};

std::string_view role_label(Role r) {
  return r == Role::unknown ? "backup" : role_name(r);
}

// A bounded set of reasons, so a flood of odd errors cannot grow the label set.
std::string_view failure_reason(int err) {
  switch (err) {
    case ENOMEM:
      return "table_full";
    case EEXIST:
      return "exists";
    case EINVAL:
      return "invalid";
    case ENOENT:
      return "not_found";
    case EBUSY:
      return "busy";
    case EOPNOTSUPP:
      return "unsupported";
    case ENOSPC:
      return "no_space";
    default:
      return "other";
  }
}

// The core's buckets, as prometheus-cpp takes them.
const prometheus::Histogram::BucketBoundaries& latency_bounds() {
  static const prometheus::Histogram::BucketBoundaries b(LatencyHistogram::bounds.begin(),
                                                         LatencyHistogram::bounds.end());
  return b;
}

constexpr const char* failure_reasons[] = {"table_full", "exists",      "invalid",  "not_found",
                                           "busy",       "unsupported", "no_space", "other"};

}  // namespace

MetricsExporter::~MetricsExporter() = default;

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::open(const std::string& listen,
                                                               const std::string& version) {
  std::unique_ptr<MetricsExporter> m(new MetricsExporter());
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->build(version);
  try {
    // prometheus-cpp reports a failed bind by throwing; this is the edge where we catch it.
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return make_error("metrics.listen " + listen + ": cannot listen (" + e.what() +
                      "): is the port in use?");
  }
  m->exposer_->RegisterCollectable(m->registry_);
  return m;
}

prometheus::Counter& MetricsExporter::counter(const std::string& name, const std::string& help,
                                              const std::map<std::string, std::string>& labels) {
  auto it = counter_families_.find(name);
  if (it == counter_families_.end()) {
    auto& fam = prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
    it = counter_families_.emplace(name, &fam).first;
  }
  return it->second->Add(labels);
}

prometheus::Gauge& MetricsExporter::gauge(const std::string& name, const std::string& help,
                                          const std::map<std::string, std::string>& labels) {
  auto it = gauge_families_.find(name);
  if (it == gauge_families_.end()) {
    auto& fam = prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
    it = gauge_families_.emplace(name, &fam).first;
  }
  return it->second->Add(labels);
}

void MetricsExporter::set(prometheus::Histogram& h, const LatencyHistogram& total) {
  LatencyHistogram& last = published_latency_[&h];
  if (total.count() == last.count()) return;
  std::vector<double> increments(LatencyHistogram::buckets);
  for (std::size_t i = 0; i < increments.size(); ++i)
    increments[i] = static_cast<double>(total.counts()[i] - last.counts()[i]);
  h.ObserveMultiple(increments, total.sum_seconds() - last.sum_seconds());
  last = total;
}

void MetricsExporter::set(prometheus::Counter& c, std::uint64_t total) {
  std::uint64_t& last = published_[&c];
  if (total > last) c.Increment(static_cast<double>(total - last));
  last = total;
}

// Creates every fixed series up front, so dashboards and alerts see zeros, not gaps.
void MetricsExporter::build(const std::string& version) {
  gauge("ctsync_build_info", "ctsyncd build; the value is always 1", {{"version", version}}).Set(1);
  for (const char* t : {"new", "update", "destroy"})
    counter("ctsync_kernel_events_total", "Kernel conntrack events read, by type", {{"type", t}});
  counter("ctsync_kernel_events_ignored_total", "Kernel events for flows the filters leave out");
  counter("ctsync_netlink_overruns_total",
          "Netlink event buffer overruns (events lost, then repaired by a resync)");
  counter("ctsync_kernel_resyncs_total", "Kernel table dumps that reconciled the internal cache");
  gauge("ctsync_netlink_buffer_bytes", "Receive buffer of the kernel event socket");
  for (const char* c : {"internal", "external"})
    gauge("ctsync_flows", "Flows in the internal (own) and external (peers') caches",
          {{"cache", c}});
  for (const char* c : {"internal", "external"})
    gauge("ctsync_expectations", "Expectations in the internal (own) and external caches",
          {{"cache", c}});
  for (const char* t : {"new", "destroy"})
    counter("ctsync_kernel_expectation_events_total", "Kernel expectation events read, by type",
            {{"type", t}});
  for (const char* r : {"created", "failed"})
    counter("ctsync_expectations_committed_total",
            "Expectations a commit wrote into the kernel, by result", {{"result", r}});
  for (std::size_t i = 0; i < message_type_count; ++i) {
    const std::string t(message_type_name(static_cast<MessageType>(i)));
    counter("ctsync_messages_sent_total", "Protocol messages sent, by type", {{"type", t}});
    counter("ctsync_messages_received_total", "Protocol messages received, by type", {{"type", t}});
    counter("ctsync_message_bytes_sent_total", "Encoded bytes of protocol messages sent, by type",
            {{"type", t}});
    counter("ctsync_message_bytes_received_total",
            "Encoded bytes of protocol messages received, by type", {{"type", t}});
  }
  counter("ctsync_datagrams_sent_total", "Sync datagrams sent");
  counter("ctsync_datagrams_received_total", "Sync datagrams received (before any check)");
  counter("ctsync_datagram_bytes_sent_total", "Bytes of sync datagrams sent (plaintext packets)");
  counter("ctsync_datagram_bytes_received_total", "Bytes of sync datagrams received");
  for (std::size_t i = 0; i < drop_reason_count; ++i) {
    counter("ctsync_datagrams_dropped_total", "Received datagrams not applied, by reason",
            {{"reason", std::string(drop_reason_name(static_cast<DropReason>(i)))}});
  }
  counter("ctsync_retransmits_total", "Stream packets sent again after a nack");
  counter("ctsync_stream_duplicates_total",
          "Stream packets received again after they were applied");
  counter("ctsync_nacks_sent_total", "Nack messages sent");
  counter("ctsync_nacks_received_total", "Nack messages received");
  counter("ctsync_gaps_detected_total", "Gaps seen in a peer's stream");
  counter("ctsync_gaps_repaired_total", "Gaps closed by resent packets");
  counter("ctsync_gaps_unrepairable_total",
          "Gaps the sender could no longer fill (a bulk resync followed)");
  counter("ctsync_bulks_sent_total", "Bulk transfers of the whole table this node started");
  counter("ctsync_bulks_received_total", "Bulk transfers this node received completely");
  counter("ctsync_messages_undecodable_total",
          "Authenticated messages with a field out of range, dropped one by one");
  counter("ctsync_resync_requests_sent_total", "Requests to a peer for its whole table");
  counter("ctsync_resync_requests_received_total", "Requests from peers for our whole table");
  counter("ctsync_digest_mismatches_total", "Anti-entropy digests that did not match our copy");
  counter("ctsync_peer_flows_refused_total",
          "New flows a peer's copy had no room for (sync.max_peer_flows)");
  counter("ctsync_peer_expectations_refused_total",
          "New expectations a peer's copy had no room for (sync.max_peer_expectations)");
  gauge("ctsync_early_bytes", "Bytes of stream packets held ahead of gaps, all peers together");
  counter("ctsync_early_refused_total",
          "Stream packets not held ahead of a gap: the budget (sync.max_early_bytes) was spent");
  counter("ctsync_peer_slots_reused_total",
          "Peer slots given to a new node by a silent peer with an empty copy");
  counter("ctsync_copies_superseded_total",
          "Copies of a node no longer active dropped: a later active node's table holds them");
  counter("ctsync_flows_superseded_total", "Flows in the copies dropped as superseded");
  counter("ctsync_stream_before_bound_bulk_total",
          "Stream packets passed over before the peer's first bulk made for this start");
  for (const char* d : {"sent", "received"}) {
    counter("ctsync_legacy_sealed_datagrams_total",
            "Datagrams sealed with the pre-shared key itself, for or from releases before 0.2.0",
            {{"direction", d}});
  }
  for (const char* o : {"kernel", "peer"}) {
    counter("ctsync_helper_names_refused_total",
            "New conntrack helper names the table (255) had no room for, by origin",
            {{"origin", o}});
  }
  gauge("ctsync_peers", "Peers known");
  for (const char* r : roles)
    gauge("ctsync_role", "The node's role: 1 for the current one", {{"role", r}});
  counter("ctsync_role_changes_total", "Role changes");
  gauge("ctsync_ready", "1 when this node can take over without losing sessions");
  commit_duration_ =
      &prometheus::BuildHistogram()
           .Name("ctsync_commit_duration_seconds")
           .Help("Duration of commits of the external cache into the kernel")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                                            0.5, 1, 2.5, 5, 10, 30});
  latency_all_ = &prometheus::BuildHistogram()
                      .Name("ctsync_replication_latency_all_peers_seconds")
                      .Help("From a change's kernel event read to every up peer acknowledging it")
                      .Register(*registry_)
                      .Add({}, latency_bounds());
  latency_per_peer_ = &prometheus::BuildHistogram()
                           .Name("ctsync_replication_latency_seconds")
                           .Help("From a change's kernel event read to the peer acknowledging it")
                           .Register(*registry_);
  gauge("ctsync_changes_at_risk",
        "Changes the most advanced peer has not acknowledged: what a failover now would lose");
  gauge("ctsync_changes_at_risk_oldest_seconds", "Age of the oldest change at risk; 0 when none");
  for (const char* r : {"created", "updated", "replaced", "failed"}) {
    counter("ctsync_committed_flows_total", "Flows written by commits, by result", {{"result", r}});
  }
  for (const char* r : failure_reasons)
    counter("ctsync_commit_failures_total", "Flows a commit could not write, by reason",
            {{"reason", r}});
  gauge("ctsync_kernel_table_entries",
        "Entries in this namespace's conntrack table (nf_conntrack_count)");
  gauge("ctsync_kernel_table_max", "The kernel's table limit (nf_conntrack_max)");
  for (const char* r : {"ok", "failed"})
    counter("ctsync_direct_injections_total",
            "Direct mode: peer flows written to this backup's kernel", {{"result", r}});
  counter("ctsync_direct_refreshes_total", "Direct mode: injected short-lived entries refreshed");
  counter("ctsync_direct_removals_total",
          "Direct mode: entries removed because the peer's flow ended");
  gauge("ctsync_hold_listening",
        "1 while the takeover hold listens on its packet queue (a backup, a takeover)");
  for (const char* o : hold_outcomes)
    counter("ctsync_hold_packets_total",
            "Packets the takeover hold saw, by what became of them (overflow: passed on because "
            "the hold or its socket was full)",
            {{"outcome", o}});
  counter("ctsync_hold_flows_written_total", "Peer flows written on demand by the takeover hold");
  counter("ctsync_hold_write_failures_total", "On-demand writes the kernel refused");
  gauge("ctsync_hold_longest_seconds", "The longest any packet was held since start");
  for (const char* w : {"on_demand", "committed", "failed"})
    gauge("ctsync_last_takeover_flows", "Flows of the last takeover, by how they were written",
          {{"written", w}});
  for (const char* o : {"held", "released_unwritten", "overflow"})
    gauge("ctsync_last_takeover_packets", "Packets the hold saw in the last takeover",
          {{"outcome", o}});
  gauge("ctsync_last_takeover_commit_seconds",
        "Seconds from the last promotion to the end of its commit (-1: not done)");
  gauge("ctsync_last_takeover_timestamp_seconds", "When the last promotion came (Unix time)");
  gauge("ctsync_accounting_enabled",
        "1 when nf_conntrack_acct is on, so traffic counters are meaningful");
  for (std::size_t f = 0; f < TrafficAccounting::families; ++f) {
    for (std::size_t p = 0; p < TrafficAccounting::protocols; ++p) {
      for (std::size_t d = 0; d < TrafficAccounting::directions; ++d) {
        const std::map<std::string, std::string> l = {
            {"family", std::string(TrafficAccounting::family_label(f))},
            {"protocol", std::string(TrafficAccounting::protocol_label(p))},
            {"direction", std::string(TrafficAccounting::direction_label(d))}};
        counter("ctsync_traffic_bytes_total", "Bytes of replicated flows seen by the kernel", l);
        counter("ctsync_traffic_packets_total", "Packets of replicated flows seen by the kernel",
                l);
      }
    }
  }
  gauge("ctsync_flows_by_state", "Flows in the internal cache by family, protocol and TCP state",
        {{"family", "ipv4"}, {"protocol", "tcp"}, {"state", "ESTABLISHED"}});
}

void MetricsExporter::publish(const MetricsSnapshot& s) {
  set(counter("ctsync_kernel_events_total", "", {{"type", "new"}}), s.events_new);
  set(counter("ctsync_kernel_events_total", "", {{"type", "update"}}), s.events_update);
  set(counter("ctsync_kernel_events_total", "", {{"type", "destroy"}}), s.events_destroy);
  set(counter("ctsync_kernel_events_ignored_total", ""), s.events_ignored);
  set(counter("ctsync_netlink_overruns_total", ""), s.overruns);
  set(counter("ctsync_kernel_resyncs_total", ""), s.resyncs);
  gauge("ctsync_netlink_buffer_bytes", "").Set(static_cast<double>(s.netlink_buffer_bytes));
  gauge("ctsync_flows", "", {{"cache", "internal"}}).Set(static_cast<double>(s.flows_internal));
  gauge("ctsync_flows", "", {{"cache", "external"}}).Set(static_cast<double>(s.flows_external));
  gauge("ctsync_expectations", "", {{"cache", "internal"}})
      .Set(static_cast<double>(s.expectations_internal));
  gauge("ctsync_expectations", "", {{"cache", "external"}})
      .Set(static_cast<double>(s.expectations_external));
  set(counter("ctsync_kernel_expectation_events_total", "", {{"type", "new"}}),
      s.expectation_events_new);
  set(counter("ctsync_kernel_expectation_events_total", "", {{"type", "destroy"}}),
      s.expectation_events_destroy);
  set(counter("ctsync_expectations_committed_total", "", {{"result", "created"}}),
      s.expectations_created);
  set(counter("ctsync_expectations_committed_total", "", {{"result", "failed"}}),
      s.expectations_failed);
  for (std::size_t i = 0; i < message_type_count; ++i) {
    const std::map<std::string, std::string> l = {
        {"type", std::string(message_type_name(static_cast<MessageType>(i)))}};
    set(counter("ctsync_messages_sent_total", "", l), s.sync.sent.messages[i]);
    set(counter("ctsync_messages_received_total", "", l), s.sync.received.messages[i]);
    set(counter("ctsync_message_bytes_sent_total", "", l), s.sync.sent.bytes[i]);
    set(counter("ctsync_message_bytes_received_total", "", l), s.sync.received.bytes[i]);
  }
  set(counter("ctsync_datagrams_sent_total", ""), s.sync.datagrams_sent);
  set(counter("ctsync_datagrams_received_total", ""), s.sync.datagrams_received);
  set(counter("ctsync_datagram_bytes_sent_total", ""), s.sync.datagram_bytes_sent);
  set(counter("ctsync_datagram_bytes_received_total", ""), s.sync.datagram_bytes_received);
  for (std::size_t i = 0; i < drop_reason_count; ++i) {
    set(counter("ctsync_datagrams_dropped_total", "",
                {{"reason", std::string(drop_reason_name(static_cast<DropReason>(i)))}}),
        s.sync.dropped[i]);
  }
  set(counter("ctsync_retransmits_total", ""), s.sync.retransmits);
  set(counter("ctsync_stream_duplicates_total", ""), s.sync.stream_duplicates);
  set(counter("ctsync_nacks_sent_total", ""), s.sync.sent.count(MessageType::nack));
  set(counter("ctsync_nacks_received_total", ""), s.sync.received.count(MessageType::nack));
  set(counter("ctsync_gaps_detected_total", ""), s.sync.gaps_detected);
  set(counter("ctsync_gaps_repaired_total", ""), s.sync.gaps_repaired);
  set(counter("ctsync_gaps_unrepairable_total", ""), s.sync.gaps_unrepairable);
  set(counter("ctsync_bulks_sent_total", ""), s.sync.bulks_started);
  set(counter("ctsync_bulks_received_total", ""), s.sync.bulks_completed);
  set(counter("ctsync_messages_undecodable_total", ""), s.sync.decode_errors);
  set(counter("ctsync_resync_requests_sent_total", ""), s.sync.resync_requests_sent);
  set(counter("ctsync_resync_requests_received_total", ""), s.sync.resync_requests_received);
  set(counter("ctsync_digest_mismatches_total", ""), s.sync.digest_mismatches);
  set(counter("ctsync_peer_flows_refused_total", ""), s.sync.peer_flows_refused);
  set(counter("ctsync_peer_expectations_refused_total", ""), s.sync.peer_expectations_refused);
  set(counter("ctsync_peer_slots_reused_total", ""), s.sync.peer_slots_reused);
  set(counter("ctsync_stream_before_bound_bulk_total", ""), s.sync.stream_before_bound_bulk);
  set(counter("ctsync_copies_superseded_total", ""), s.sync.copies_superseded);
  set(counter("ctsync_flows_superseded_total", ""), s.sync.flows_superseded);
  set(counter("ctsync_legacy_sealed_datagrams_total", "", {{"direction", "sent"}}),
      s.sync.legacy_sealed_sent);
  set(counter("ctsync_legacy_sealed_datagrams_total", "", {{"direction", "received"}}),
      s.sync.legacy_sealed_received);
  gauge("ctsync_early_bytes", "").Set(static_cast<double>(s.sync.early_bytes));
  set(counter("ctsync_early_refused_total", ""), s.sync.early_refused);
  set(counter("ctsync_helper_names_refused_total", "", {{"origin", "kernel"}}),
      s.helper_names_refused_kernel);
  set(counter("ctsync_helper_names_refused_total", "", {{"origin", "peer"}}),
      s.helper_names_refused_peer);
  gauge("ctsync_peers", "").Set(static_cast<double>(s.peers.size()));
  for (const auto& p : s.peers) {
    const std::map<std::string, std::string> l = {{"peer", std::to_string(p.id)}};
    gauge("ctsync_peer_up", "1 while the peer is heard from", l).Set(p.up ? 1 : 0);
    gauge("ctsync_peer_in_sync", "1 while our copy of the peer's table is complete and gap-free", l)
        .Set(p.in_sync ? 1 : 0);
    gauge("ctsync_peer_last_heard_seconds", "Seconds since the peer was last heard", l)
        .Set(p.seconds_since_heard);
    gauge("ctsync_peer_lag_packets", "Stream packets the peer sent that we have not applied yet", l)
        .Set(static_cast<double>(p.lag_packets));
    gauge("ctsync_peer_flows", "Flows held for the peer (external cache)", l)
        .Set(static_cast<double>(p.flows));
    gauge("ctsync_peer_behind_seconds",
          "How long our copy has been behind what the peer announced; 0 while it holds it all", l)
        .Set(p.behind_seconds);
    for (const char* r : roles) {
      auto labels = l;
      labels["role"] = r;
      gauge("ctsync_peer_role", "The peer's role, as its heartbeats say: 1 for the current one",
            labels)
          .Set(role_label(p.role) == r ? 1 : 0);
    }
  }
  for (const auto& [peer, h] : s.latency_per_peer) {
    set(latency_per_peer_->Add({{"peer", std::to_string(peer)}}, latency_bounds()), h);
  }
  set(*latency_all_, s.latency_all_peers);
  gauge("ctsync_changes_at_risk", "").Set(static_cast<double>(s.changes_at_risk));
  gauge("ctsync_changes_at_risk_oldest_seconds", "").Set(s.at_risk_oldest_seconds);
  for (const char* r : roles)
    gauge("ctsync_role", "", {{"role", r}}).Set(role_label(s.role) == r ? 1 : 0);
  set(counter("ctsync_role_changes_total", ""), s.role_changes);
  gauge("ctsync_ready", "").Set(s.ready ? 1 : 0);
  for (double d : s.commit_seconds) commit_duration_->Observe(d);
  set(counter("ctsync_committed_flows_total", "", {{"result", "created"}}), s.committed_created);
  set(counter("ctsync_committed_flows_total", "", {{"result", "updated"}}), s.committed_updated);
  set(counter("ctsync_committed_flows_total", "", {{"result", "replaced"}}), s.committed_replaced);
  set(counter("ctsync_committed_flows_total", "", {{"result", "failed"}}), s.committed_failed);
  std::map<std::string, std::uint64_t> by_reason;
  for (const auto& [err, n] : s.commit_failures) by_reason[std::string(failure_reason(err))] += n;
  for (const char* r : failure_reasons)
    set(counter("ctsync_commit_failures_total", "", {{"reason", r}}), by_reason[r]);
  gauge("ctsync_kernel_table_entries", "").Set(static_cast<double>(s.kernel_entries));
  gauge("ctsync_kernel_table_max", "").Set(static_cast<double>(s.kernel_max));
  set(counter("ctsync_direct_injections_total", "", {{"result", "ok"}}), s.direct_injected);
  set(counter("ctsync_direct_injections_total", "", {{"result", "failed"}}), s.direct_failed);
  set(counter("ctsync_direct_refreshes_total", ""), s.direct_refreshed);
  set(counter("ctsync_direct_removals_total", ""), s.direct_removed);
  gauge("ctsync_hold_listening", "").Set(s.hold_listening ? 1 : 0);
  const HoldCounters& h = s.hold;
  const std::uint64_t hold_counts[] = {h.passed, h.held, h.released, h.released_late,
                                       h.overflow + s.hold_socket_overruns};
  for (std::size_t i = 0; i < std::size(hold_outcomes); ++i)
    set(counter("ctsync_hold_packets_total", "", {{"outcome", hold_outcomes[i]}}), hold_counts[i]);
  set(counter("ctsync_hold_flows_written_total", ""), h.flows_written);
  set(counter("ctsync_hold_write_failures_total", ""), h.write_failures);
  gauge("ctsync_hold_longest_seconds", "")
      .Set(std::chrono::duration<double>(h.longest_hold).count());
  if (s.last_takeover) {
    const TakeoverRecord& r = *s.last_takeover;
    const auto g = [&](const char* name, const char* label, const char* value, double v) {
      gauge(name, "", {{label, value}}).Set(v);
    };
    g("ctsync_last_takeover_flows", "written", "on_demand", static_cast<double>(r.flows_on_demand));
    g("ctsync_last_takeover_flows", "written", "committed", static_cast<double>(r.flows_committed));
    g("ctsync_last_takeover_flows", "written", "failed", static_cast<double>(r.failed));
    g("ctsync_last_takeover_packets", "outcome", "held", static_cast<double>(r.packets_held));
    g("ctsync_last_takeover_packets", "outcome", "released_unwritten",
      static_cast<double>(r.packets_released_late));
    g("ctsync_last_takeover_packets", "outcome", "overflow",
      static_cast<double>(r.packets_overflow));
    gauge("ctsync_last_takeover_commit_seconds", "").Set(r.commit_end_s ? *r.commit_end_s : -1);
    gauge("ctsync_last_takeover_timestamp_seconds", "")
        .Set(static_cast<double>(r.promoted_at_ms) / 1000.0);
  }
  gauge("ctsync_accounting_enabled", "").Set(s.accounting_enabled ? 1 : 0);
  for (std::size_t f = 0; f < TrafficAccounting::families; ++f) {
    for (std::size_t p = 0; p < TrafficAccounting::protocols; ++p) {
      for (std::size_t d = 0; d < TrafficAccounting::directions; ++d) {
        const std::map<std::string, std::string> l = {
            {"family", std::string(TrafficAccounting::family_label(f))},
            {"protocol", std::string(TrafficAccounting::protocol_label(p))},
            {"direction", std::string(TrafficAccounting::direction_label(d))}};
        set(counter("ctsync_traffic_bytes_total", "", l), s.traffic.bytes(f, p, d));
        set(counter("ctsync_traffic_packets_total", "", l), s.traffic.packets(f, p, d));
      }
    }
  }
  // Bounded: families x protocols x TCP states. Series for combinations gone to zero stay at 0.
  for (auto& [labels, g] : flows_by_state_) g->Set(0);
  for (const auto& [key, n] : s.flows_by_state) {
    const auto& [fam, proto, state] = key;
    auto& g = gauge("ctsync_flows_by_state", "",
                    {{"family", fam}, {"protocol", proto}, {"state", state}});
    flows_by_state_[key] = &g;
    g.Set(static_cast<double>(n));
  }
}

}  // namespace ctsync

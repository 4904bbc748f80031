#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "core/latency_histogram.hpp"
#include "core/role.hpp"
#include "core/sync_counters.hpp"
#include "core/takeover_hold.hpp"
#include "core/takeover_record.hpp"
#include "core/traffic_accounting.hpp"

namespace ctsync {

// Everything the exporter publishes, as plain numbers copied on the event-loop thread.
// Counters are totals since start; the exporter turns them into Prometheus counter increments.
struct MetricsSnapshot {
  struct Peer {
    std::uint32_t id = 0;
    bool up = false;
    bool in_sync = false;
    double seconds_since_heard = 0;
    std::uint64_t lag_packets = 0;
    std::uint64_t flows = 0;
    double behind_seconds = 0;
    Role role = Role::unknown;  // as its last heartbeat said
  };

  std::uint64_t events_new = 0, events_update = 0, events_destroy = 0, events_ignored = 0;
  std::uint64_t overruns = 0, resyncs = 0;
  // New helper names the process-wide table had no room for, read from the kernel / a peer.
  std::uint64_t helper_names_refused_kernel = 0, helper_names_refused_peer = 0;
  std::uint64_t netlink_buffer_bytes = 0;
  std::uint64_t flows_internal = 0, flows_external = 0;
  std::uint64_t expectations_internal = 0, expectations_external = 0;
  std::uint64_t expectation_events_new = 0, expectation_events_destroy = 0;
  std::uint64_t expectations_created = 0, expectations_failed = 0;
  SyncCounters sync;
  std::vector<Peer> peers;
  // Replication latency (totals since start) and what a failover now would lose.
  LatencyHistogram latency_all_peers;
  std::map<std::uint32_t, LatencyHistogram> latency_per_peer;
  std::uint64_t changes_at_risk = 0;
  double at_risk_oldest_seconds = 0;
  Role role = Role::backup;
  std::uint64_t role_changes = 0;
  bool ready = false;
  std::vector<double> commit_seconds;  // commits finished since the last snapshot
  std::uint64_t committed_created = 0, committed_updated = 0, committed_replaced = 0,
                committed_failed = 0;
  std::map<int, std::uint64_t> commit_failures;  // errno -> flows
  std::int64_t kernel_entries = -1, kernel_max = -1;
  std::uint64_t direct_injected = 0, direct_failed = 0, direct_refreshed = 0, direct_removed = 0;
  bool hold_configured = false, hold_listening = false;
  HoldCounters hold;
  std::uint64_t hold_socket_overruns = 0;
  std::uint64_t takeovers = 0;  // kept in the state directory
  std::optional<TakeoverRecord> last_takeover;
  bool accounting_enabled = false;
  TrafficAccounting traffic;
  // (family, protocol, state) -> flows in the internal cache
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> flows_by_state;
};

}  // namespace ctsync

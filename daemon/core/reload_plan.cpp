#include "core/reload_plan.hpp"

namespace ctsync {

namespace {

// One setting: its name in the file, whether it differs, and (for a reloadable one) how the
// fresh value is taken into the running configuration.
struct Setting {
  const char* name;
  bool (*differs)(const Config&, const Config&);
  void (*take)(Config& next, const Config& fresh);  // null: needs a restart
};

#define CTSYNC_SAME(field) [](const Config& a, const Config& b) { return !(a.field == b.field); }
#define CTSYNC_TAKE(field) [](Config& n, const Config& f) { n.field = f.field; }

const Setting settings[] = {
    {"node.log_level", CTSYNC_SAME(log_level), CTSYNC_TAKE(log_level)},
    {"sync.keys", CTSYNC_SAME(keys), CTSYNC_TAKE(keys)},
    {"sync.send_key_id", CTSYNC_SAME(send_key_id), CTSYNC_TAKE(send_key_id)},
    {"cache.commit_batch", CTSYNC_SAME(commit_batch), CTSYNC_TAKE(commit_batch)},
    {"cache.purge_after_s", CTSYNC_SAME(purge_after), CTSYNC_TAKE(purge_after)},
    {"cache.purge_timeout_s", CTSYNC_SAME(purge_timeout), CTSYNC_TAKE(purge_timeout)},
    {"filter", CTSYNC_SAME(filter), CTSYNC_TAKE(filter)},
    {"takeover.hold_max_ms", CTSYNC_SAME(hold_max), CTSYNC_TAKE(hold_max)},
    {"takeover.hold_max_packets", CTSYNC_SAME(hold_max_packets), CTSYNC_TAKE(hold_max_packets)},
    {"takeover.early_write_life_s", CTSYNC_SAME(early_write_life), CTSYNC_TAKE(early_write_life)},
    {"takeover.queue", CTSYNC_SAME(takeover_queue), nullptr},
    {"takeover.queue_length", CTSYNC_SAME(takeover_queue_length), nullptr},
    {"node.id", CTSYNC_SAME(node_id), nullptr},
    {"node.state_dir", CTSYNC_SAME(state_dir), nullptr},
    {"sync.interface", CTSYNC_SAME(interface), nullptr},
    {"sync.multicast_group", CTSYNC_SAME(multicast_group), nullptr},
    {"sync.port", CTSYNC_SAME(port), nullptr},
    {"sync.peers", CTSYNC_SAME(peers), nullptr},
    {"sync.bind", CTSYNC_SAME(bind), nullptr},
    {"sync.mtu", CTSYNC_SAME(mtu), nullptr},
    {"sync.receive_buffer", CTSYNC_SAME(socket_receive_buffer), nullptr},
    {"sync.send_buffer", CTSYNC_SAME(socket_send_buffer), nullptr},
    {"sync.heartbeat_interval_ms", CTSYNC_SAME(heartbeat_interval), nullptr},
    {"sync.peer_timeout_ms", CTSYNC_SAME(peer_timeout), nullptr},
    {"sync.window_packets", CTSYNC_SAME(window_packets), nullptr},
    {"sync.expectations", CTSYNC_SAME(sync_expectations), nullptr},
    {"sync.max_peer_flows", CTSYNC_SAME(max_peer_flows), nullptr},
    {"sync.max_peer_expectations", CTSYNC_SAME(max_peer_expectations), nullptr},
    {"sync.max_early_bytes", CTSYNC_SAME(max_early_bytes), nullptr},
    {"sync.legacy_sealing", CTSYNC_SAME(legacy_sealing), nullptr},
    {"sync.ready_max_lag_ms", CTSYNC_SAME(ready_max_lag), nullptr},
    {"cache.mode", CTSYNC_SAME(cache_mode), nullptr},
    {"cache.direct_refresh_s", CTSYNC_SAME(direct_refresh), nullptr},
    {"cache.commit_delay_ms", CTSYNC_SAME(commit_delay), nullptr},
    {"kernel.netlink_buffer", CTSYNC_SAME(netlink_buffer), nullptr},
    {"kernel.netlink_buffer_max", CTSYNC_SAME(netlink_buffer_max), nullptr},
    {"kernel.tcp_window_tracking", CTSYNC_SAME(tcp_window_tracking), nullptr},
    {"kernel.accounting_interval_s", CTSYNC_SAME(accounting_interval), nullptr},
    {"metrics.listen", CTSYNC_SAME(metrics_listen), nullptr},
    {"control.socket", CTSYNC_SAME(control_socket), nullptr},
};

#undef CTSYNC_SAME
#undef CTSYNC_TAKE

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& fresh) {
  ReloadPlan plan;
  plan.next = running;
  plan.next.lines = fresh.lines;  // messages point at the file as it is now
  for (const Setting& s : settings) {
    if (!s.differs(running, fresh)) continue;
    if (s.take == nullptr) {
      plan.need_restart.emplace_back(s.name);
      continue;
    }
    s.take(plan.next, fresh);
    plan.applied.emplace_back(s.name);
  }
  plan.keys_changed = running.keys != fresh.keys || running.send_key_id != fresh.send_key_id;
  plan.filter_changed = !(running.filter == fresh.filter);
  return plan;
}

}  // namespace ctsync

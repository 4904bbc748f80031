#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/role.hpp"
#include "core/sync_counters.hpp"
#include "core/takeover_hold.hpp"
#include "core/takeover_record.hpp"

namespace ctsync {

// What `ctsyncctl status` shows, gathered by the daemon; rendering it is pure.
struct StatusView {
  struct Peer {
    std::uint32_t node_id = 0;
    bool up = false;
    Role role = Role::unknown;
    double last_heard_s = 0;
    bool complete = false;
    bool in_sync = false;
    std::uint64_t lag_packets = 0;
    std::size_t flows = 0;
    double behind_s = 0;
  };
  std::uint32_t node_id = 0;
  std::uint64_t boot_id = 0;
  Role role = Role::backup;
  std::string not_ready_reason;  // empty: ready
  std::string cache_mode;
  std::size_t internal_flows = 0;
  std::size_t external_flows = 0;
  std::optional<std::size_t> commit_progress;  // flows written so far by a running commit
  long kernel_entries = -1;
  long kernel_max = -1;
  std::string transport;
  std::vector<Peer> peers;
  // As the sender measures it: a change's kernel event read to every up peer's ack.
  double latency_p50_s = 0, latency_p99_s = 0;
  std::uint64_t latency_changes = 0;
  // What a failover now would lose: changes the most advanced peer lacks, the oldest's age.
  std::uint64_t changes_at_risk = 0;
  double at_risk_oldest_s = 0;
  std::optional<std::string> last_commit;
  struct Hold {
    std::string queue;  // "nfqueue 7"
    bool listening = false;
    HoldCounters counters;
    std::uint64_t socket_overruns = 0;
  };
  std::optional<Hold> hold;               // with [takeover] queue
  std::vector<TakeoverRecord> takeovers;  // oldest first
};
std::string render_status(const StatusView& v, bool json);

// What `ctsyncctl stats` shows.
struct StatsView {
  std::uint64_t events_new = 0, events_update = 0, events_destroy = 0, events_ignored = 0;
  std::uint64_t overruns = 0, resyncs = 0, commits = 0;
  int netlink_buffer = 0;
  SyncCounters sync;
};
std::string render_stats(const StatsView& v, bool json);

}  // namespace ctsync

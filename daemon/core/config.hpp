#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/flow_filter.hpp"
#include "core/role_machine.hpp"
#include "ctsync/clock.hpp"
#include "ctsync/ip_address.hpp"

namespace ctsync {

enum class LogLevel { error, warning, info, debug };

struct KeyConfig {
  std::uint8_t id = 1;
  std::string file;
  friend bool operator==(const KeyConfig&, const KeyConfig&) = default;
};

struct Config {
  std::string path;  // where it was read from, for messages
  // Line of every key in the file ("sync.interface", "sync.keys[0].file"), so that checks made
  // after parsing (--strict) can point at the line too.
  std::map<std::string, int> lines;
  // "path:line: key" for a key, or "path: key" when the file does not set it.
  std::string where(const std::string& key) const {
    auto it = lines.find(key);
    return path + (it == lines.end() ? "" : ":" + std::to_string(it->second)) + ": " + key;
  }

  // [node]
  std::uint32_t node_id = 0;
  std::string state_dir = "/var/lib/ctsyncd";
  LogLevel log_level = LogLevel::info;

  // [sync]
  std::string interface;
  std::optional<FamilyAddress> multicast_group;
  std::uint16_t port = 3780;
  std::vector<std::pair<FamilyAddress, std::uint16_t>> peers;
  std::optional<FamilyAddress> bind;
  std::vector<KeyConfig> keys;
  std::uint8_t send_key_id = 0;
  std::size_t mtu = 1500;
  int socket_receive_buffer = 16 << 20;
  int socket_send_buffer = 4 << 20;
  Duration heartbeat_interval = milliseconds(200);
  Duration peer_timeout = milliseconds(1000);
  std::size_t window_packets = 4096;
  bool sync_expectations = true;  // conntrackd's ExpectationSync
  // What one peer's copy may hold; 0: derived at start from this kernel's nf_conntrack_max
  // (flows: as many; expectations: a sixteenth of it, at least 1024).
  std::size_t max_peer_flows = 0;
  std::size_t max_peer_expectations = 0;
  // Bytes of stream packets held ahead of gaps, every peer together.
  std::size_t max_early_bytes = std::size_t{32} << 20;
  // Open datagrams sealed with the pre-shared key itself, and seal that way while a peer of
  // a release before 0.2.0 is up; off once every node runs 0.2.0 or later.
  bool legacy_sealing = true;
  // A backup behind the active node's announced stream for longer than this is not ready.
  Duration ready_max_lag = milliseconds(750);

  // [cache]
  CacheMode cache_mode = CacheMode::external;
  std::size_t commit_batch = 2000;
  Duration purge_after = seconds(30);        // external mode: stale kernel entries after demote
  std::uint32_t purge_timeout = 30;          // ...are given this timeout, like conntrackd -t
  Duration direct_refresh = seconds(10);     // direct mode: refresh injected short-lived flows
  Duration commit_delay = Duration::zero();  // testing the takeover race only

  // [takeover]: the hold (off unless a queue is named; the ruleset's rule feeds it)
  std::optional<std::uint16_t> takeover_queue;
  std::uint32_t takeover_queue_length = 4096;  // packets the kernel queues; beyond, fail-open
  Duration hold_max = milliseconds(500);       // no packet waits longer
  std::size_t hold_max_packets = 4096;         // held at once; beyond, they pass at once
  Duration early_write_life = seconds(5);      // written before a promotion, none followed

  // [kernel]
  int netlink_buffer = 8 << 20;
  int netlink_buffer_max = 64 << 20;
  bool tcp_window_tracking = false;  // false: inject with "be liberal" like conntrackd
  Duration accounting_interval = seconds(15);

  FilterRules filter;

  // [metrics]
  std::string metrics_listen = "127.0.0.1:9712";  // empty: no metrics endpoint

  // [control]
  std::string control_socket = "/run/ctsyncd/ctsyncd.sock";
};

std::string_view cache_mode_name(CacheMode m);
std::string_view log_level_name(LogLevel l);

}  // namespace ctsync

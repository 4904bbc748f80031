#include "control/status_render.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace ctsync {

std::string render_status(const StatusView& v, bool json) {
  nlohmann::json j;
  j["node_id"] = v.node_id;
  j["boot_id"] = v.boot_id;
  j["role"] = std::string(role_name(v.role));
  j["ready"] = v.not_ready_reason.empty();
  if (!v.not_ready_reason.empty()) j["not_ready_reason"] = v.not_ready_reason;
  j["cache_mode"] = v.cache_mode;
  j["internal_flows"] = v.internal_flows;
  j["external_flows"] = v.external_flows;
  j["commit_running"] = v.commit_progress.has_value();
  j["kernel_entries"] = v.kernel_entries;
  j["kernel_max"] = v.kernel_max;
  j["transport"] = v.transport;
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : v.peers) {
    nlohmann::json pj;
    pj["node_id"] = p.node_id;
    pj["up"] = p.up;
    pj["role"] = std::string(role_name(p.role));
    pj["last_heard_s"] = p.last_heard_s;
    pj["complete"] = p.complete;
    pj["in_sync"] = p.in_sync;
    pj["lag_packets"] = p.lag_packets;
    pj["flows"] = p.flows;
    pj["behind_s"] = p.behind_s;
    peers.push_back(pj);
  }
  j["peers"] = peers;
  j["replication_latency"] = {
      {"changes", v.latency_changes}, {"p50_s", v.latency_p50_s}, {"p99_s", v.latency_p99_s}};
  j["at_risk"] = {{"changes", v.changes_at_risk}, {"oldest_s", v.at_risk_oldest_s}};
  if (v.last_commit) j["last_commit"] = *v.last_commit;
  if (v.hold) {
    const HoldCounters& h = v.hold->counters;
    j["takeover_hold"] = {
        {"queue", v.hold->queue},
        {"listening", v.hold->listening},
        {"packets_seen", h.seen},
        {"packets_passed", h.passed},
        {"packets_held", h.held},
        {"packets_released", h.released},
        {"packets_released_unwritten", h.released_late},
        {"packets_overflow", h.overflow},
        {"flows_written_on_demand", h.flows_written},
        {"write_failures", h.write_failures},
        {"longest_hold_ms", std::chrono::duration<double, std::milli>(h.longest_hold).count()},
        {"socket_overruns", v.hold->socket_overruns}};
  }
  nlohmann::json takeovers = nlohmann::json::array();
  for (const TakeoverRecord& r : v.takeovers) {
    nlohmann::json t = {{"promoted_at_ms", r.promoted_at_ms},
                        {"commit_start_s", r.commit_start_s},
                        {"flows_on_demand", r.flows_on_demand},
                        {"flows_committed", r.flows_committed},
                        {"failed", r.failed},
                        {"packets_held", r.packets_held},
                        {"packets_released_unwritten", r.packets_released_late},
                        {"packets_overflow", r.packets_overflow}};
    if (r.first_held_s) t["first_held_s"] = *r.first_held_s;
    if (r.commit_end_s) t["commit_end_s"] = *r.commit_end_s;
    nlohmann::json failures = nlohmann::json::object();
    for (const auto& [err, n] : r.failures) failures[std::to_string(err)] = n;
    t["failures_by_errno"] = failures;
    takeovers.push_back(t);
  }
  j["takeovers"] = takeovers;
  if (json) return j.dump(2) + "\n";

  std::string s;
  s += "node " + std::to_string(v.node_id) + " (boot " + std::to_string(v.boot_id) +
       "): " + std::string(role_name(v.role)) + ", " +
       (v.not_ready_reason.empty() ? "ready" : "NOT READY: " + v.not_ready_reason) + "\n";
  s += "cache mode " + v.cache_mode + "; sync " + v.transport + "\n";
  s += "internal cache: " + std::to_string(v.internal_flows) +
       " flows; external cache: " + std::to_string(v.external_flows) + " flows\n";
  s += "kernel table: " + std::to_string(v.kernel_entries) + " of " + std::to_string(v.kernel_max) +
       " entries\n";
  if (v.role == Role::active) {
    char line[256];
    if (v.changes_at_risk == 0) {
      std::snprintf(line, sizeof line, "at risk: nothing; a failover now loses no change\n");
    } else {
      std::snprintf(line, sizeof line,
                    "at risk: a failover now would lose %llu changes, the oldest made %.3f s ago\n",
                    static_cast<unsigned long long>(v.changes_at_risk), v.at_risk_oldest_s);
    }
    s += line;
  } else {
    // A backup's side of the same question: what it lacks of each live active peer's stream.
    for (const auto& p : v.peers) {
      if (!p.up || p.role != Role::active) continue;
      char line[256];
      if (!p.complete) {
        std::snprintf(line, sizeof line,
                      "at risk: no complete copy of active peer %u yet; a failover now would "
                      "lose what it lacks\n",
                      p.node_id);
      } else if (p.lag_packets == 0) {
        std::snprintf(line, sizeof line,
                      "at risk: nothing; this copy holds all active peer %u announced\n",
                      p.node_id);
      } else {
        std::snprintf(line, sizeof line,
                      "at risk: %llu stream packets of active peer %u, behind for %.3f s\n",
                      static_cast<unsigned long long>(p.lag_packets), p.node_id, p.behind_s);
      }
      s += line;
    }
  }
  if (v.latency_changes != 0) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "replication latency (to every up peer, %llu changes since start): p50 %.2f "
                  "ms, p99 %.2f ms\n",
                  static_cast<unsigned long long>(v.latency_changes), v.latency_p50_s * 1000,
                  v.latency_p99_s * 1000);
    s += line;
  }
  if (v.last_commit) s += "last commit: " + *v.last_commit + "\n";
  if (v.commit_progress)
    s += "commit running: " + std::to_string(*v.commit_progress) + " flows written so far\n";
  if (v.hold) {
    const HoldCounters& h = v.hold->counters;
    char line[320];
    std::snprintf(
        line, sizeof line,
        "takeover hold: %s, %s; packets held %llu, released %llu, released unwritten "
        "%llu, overflow %llu, passed %llu; flows written on demand %llu; longest hold "
        "%.1f ms\n",
        v.hold->queue.c_str(), v.hold->listening ? "listening" : "closed (active)",
        static_cast<unsigned long long>(h.held), static_cast<unsigned long long>(h.released),
        static_cast<unsigned long long>(h.released_late),
        static_cast<unsigned long long>(h.overflow + v.hold->socket_overruns),
        static_cast<unsigned long long>(h.passed), static_cast<unsigned long long>(h.flows_written),
        std::chrono::duration<double, std::milli>(h.longest_hold).count());
    s += line;
  }
  if (!v.takeovers.empty()) {
    const TakeoverRecord& last = v.takeovers.back();
    const std::time_t at = static_cast<std::time_t>(last.promoted_at_ms / 1000);
    std::tm utc{};
    char when[32] = "?";
    if (::gmtime_r(&at, &utc) != nullptr) std::strftime(when, sizeof when, "%F %T UTC", &utc);
    s += "last takeover (" + std::string(when) + "): " + last.summary() + "\n";
  }
  for (const auto& p : v.peers) {
    // Only a live active peer has a table being copied; any other holds what it sent when it
    // was active (kept for the next promotion), or nothing (a backup announces nothing, and a
    // copy a later active node's table superseded is dropped).
    const char* copy = p.up && p.role == Role::active
                           ? (p.in_sync ? "in sync" : (p.complete ? "catching up" : "incomplete"))
                       : p.flows != 0 ? "copy of its time as active"
                                      : "no copy held";
    char line[256];
    std::snprintf(line, sizeof line,
                  "peer %u: %s, %s, heard %.1f s ago, %s, %llu packets behind (for %.3f s), "
                  "%zu flows\n",
                  p.node_id, p.up ? "up" : "DOWN", std::string(role_name(p.role)).c_str(),
                  p.last_heard_s, copy, static_cast<unsigned long long>(p.lag_packets), p.behind_s,
                  p.flows);
    s += line;
  }
  if (v.peers.empty()) s += "no peers heard yet\n";
  return s;
}

std::string render_stats(const StatsView& v, bool json) {
  const SyncCounters& c = v.sync;
  nlohmann::json j;
  j["kernel"] = {{"events_new", v.events_new},
                 {"events_update", v.events_update},
                 {"events_destroy", v.events_destroy},
                 {"events_ignored", v.events_ignored},
                 {"overruns", v.overruns},
                 {"resyncs", v.resyncs},
                 {"netlink_buffer", v.netlink_buffer},
                 {"commits", v.commits}};
  j["sync"] = {{"datagrams_sent", c.datagrams_sent},
               {"datagrams_received", c.datagrams_received},
               {"bytes_sent", c.datagram_bytes_sent},
               {"bytes_received", c.datagram_bytes_received},
               {"retransmits", c.retransmits},
               {"gaps_detected", c.gaps_detected},
               {"gaps_repaired", c.gaps_repaired},
               {"gaps_unrepairable", c.gaps_unrepairable},
               {"resync_requests_sent", c.resync_requests_sent},
               {"bulks_started", c.bulks_started},
               {"bulks_completed", c.bulks_completed},
               {"digest_mismatches", c.digest_mismatches},
               {"peer_flows_refused", c.peer_flows_refused},
               {"peer_expectations_refused", c.peer_expectations_refused},
               {"peer_slots_reused", c.peer_slots_reused},
               {"copies_superseded", c.copies_superseded},
               {"flows_superseded", c.flows_superseded},
               {"early_bytes", c.early_bytes},
               {"early_refused", c.early_refused},
               {"stream_before_bound_bulk", c.stream_before_bound_bulk},
               {"legacy_sealed_sent", c.legacy_sealed_sent},
               {"legacy_sealed_received", c.legacy_sealed_received},
               {"messages_undecodable", c.decode_errors}};
  nlohmann::json drops;
  for (std::size_t i = 0; i < drop_reason_count; ++i) {
    drops[std::string(drop_reason_name(static_cast<DropReason>(i)))] = c.dropped[i];
  }
  j["dropped"] = drops;
  nlohmann::json msgs;
  for (std::size_t i = 0; i < message_type_count; ++i) {
    msgs[std::string(message_type_name(static_cast<MessageType>(i)))] = {
        {"sent", c.sent.messages[i]}, {"received", c.received.messages[i]}};
  }
  j["messages"] = msgs;
  if (json) return j.dump(2) + "\n";
  std::string s;
  for (const auto& [section, values] : j.items()) {
    s += section + ":\n";
    for (const auto& [k, val] : values.items()) s += "  " + k + " " + val.dump() + "\n";
  }
  return s;
}

}  // namespace ctsync

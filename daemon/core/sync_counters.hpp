#pragma once
// What the replication core counts. Plain integers, written only by the event-loop thread;
// the metrics adapter copies them into Prometheus on that same thread.
#include <array>
#include <cstdint>
#include <string_view>

namespace ctsync {

// Why a received datagram was not applied. The first six are decided before any parsing.
enum class DropReason : std::uint8_t {
  truncated,     // shorter than the clear header plus the authentication tag
  oversized,     // larger than any datagram a peer may send
  bad_magic,     // not a ctsyncd datagram
  bad_version,   // a sealing version this build does not speak (or 1, legacy sealing off)
  unknown_key,   // a key id we hold no key for
  auth_failed,   // did not open with the key: forged or corrupted
  malformed,     // opened, but is not a valid v1 Packet
  replay,        // genuine, but from an earlier boot of the sender or older than the window
  duplicate,     // genuine, already received within the window (normal on lossy links)
  stale,         // genuine, never received, but older than what we hold: sent before we first
                 // heard the sender's boot, or late with nothing in it still news
  own,           // our own datagram looped back
  no_peer_slot,  // a node id beyond max_peers while no slot can be given up
  count_
};
inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(DropReason::count_);
std::string_view drop_reason_name(DropReason r);

enum class MessageType : std::uint8_t {
  flow_upsert,
  flow_delete,
  expectation_upsert,
  expectation_delete,
  heartbeat,
  ack,
  nack,
  resync_request,
  bulk_begin,
  bulk_end,
  digest,
  count_
};
inline constexpr std::size_t message_type_count = static_cast<std::size_t>(MessageType::count_);
std::string_view message_type_name(MessageType t);

struct MessageTally {
  std::array<std::uint64_t, message_type_count> messages{};
  std::array<std::uint64_t, message_type_count> bytes{};
  void add(MessageType t, std::uint64_t n_bytes) {
    messages[static_cast<std::size_t>(t)] += 1;
    bytes[static_cast<std::size_t>(t)] += n_bytes;
  }
  std::uint64_t count(MessageType t) const { return messages[static_cast<std::size_t>(t)]; }
};

struct SyncCounters {
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagram_bytes_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagram_bytes_received = 0;
  MessageTally sent;
  MessageTally received;
  std::array<std::uint64_t, drop_reason_count> dropped{};

  std::uint64_t retransmits = 0;        // stream packets sent again after a nack
  std::uint64_t stream_duplicates = 0;  // stream packets received again (already applied)
  std::uint64_t gaps_detected = 0;
  std::uint64_t gaps_repaired = 0;
  std::uint64_t gaps_unrepairable = 0;      // the sender's window had moved on: resync needed
  std::uint64_t gaps_skipped_for_bulk = 0;  // a gap left behind because a bulk began after it
  std::uint64_t resync_requests_sent = 0;
  std::uint64_t resync_requests_received = 0;
  std::uint64_t bulks_started = 0;    // bulks this node sent
  std::uint64_t bulks_completed = 0;  // bulks this node received completely
  std::uint64_t digest_mismatches = 0;
  std::uint64_t window_full = 0;    // times new data waited for acks
  std::uint64_t decode_errors = 0;  // messages inside a valid packet that did not decode
  // New entries a peer's copy had no room for (sync.max_peer_flows, max_peer_expectations):
  // the copy is then incomplete and the node not ready.
  std::uint64_t peer_flows_refused = 0;
  std::uint64_t peer_expectations_refused = 0;
  std::uint64_t peer_slots_reused = 0;  // a silent peer with an empty copy gave its slot up
  // Copies of a node that is no longer active, dropped because a later active node's table
  // holds what it took over from it (three nodes or more: docs/operations.md).
  std::uint64_t copies_superseded = 0;
  std::uint64_t flows_superseded = 0;
  // Stream packets held ahead of a gap, all peers together: a level (bytes now), and the
  // packets not kept because the budget (sync.max_early_bytes) was spent.
  std::uint64_t early_bytes = 0;
  std::uint64_t early_refused = 0;
  // Stream packets passed over because the peer had not yet sent a bulk made for this boot
  // of ours: before it, its stream may be a recording (docs/security.md).
  std::uint64_t stream_before_bound_bulk = 0;
  // Datagrams sealed with the pre-shared key itself, for and from releases before 0.2.0.
  std::uint64_t legacy_sealed_sent = 0;
  std::uint64_t legacy_sealed_received = 0;

  void drop(DropReason r) { dropped[static_cast<std::size_t>(r)] += 1; }
  std::uint64_t dropped_for(DropReason r) const { return dropped[static_cast<std::size_t>(r)]; }
};

}  // namespace ctsync

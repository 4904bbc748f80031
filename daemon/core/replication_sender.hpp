#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/changes_in_flight.hpp"
#include "core/flow_key_set.hpp"
#include "core/sync_counters.hpp"
#include "core/table_digest.hpp"
#include "core/tables.hpp"
#include "ctsync/clock.hpp"

namespace ctsync {

struct SenderConfig {
  std::size_t max_body_bytes = 1300;  // stream part of one datagram
  std::size_t window_packets = 4096;  // stream packets kept for resending
  Duration resend_holdoff = milliseconds(15);
  Duration lagging_after = seconds(3);  // a peer whose acks stall this long stops gating
};

// A stream packet ready to go: its position and the serialized stream part of a Packet.
struct StreamPacket {
  std::uint64_t stream_seq = 0;
  const std::string* body = nullptr;
};

// The sending half of the replication protocol for this node's own table: coalesces changed
// keys, packs them into stream packets in their latest state, numbers them, keeps them until
// every live peer has acknowledged them, and resends what peers report missing. Sends bulks
// (the whole table between begin/end markers) on request. Never drops data: when the window
// is full, changes wait in the coalescing outbox.
class ReplicationSender {
 public:
  ReplicationSender(SenderConfig config, const LocalTable& table,
                    const ExpectationTable& expectations, const TableDigest& digest,
                    SyncCounters& counters);

  // Replicating is on for an active node only. Turning it off drops queued changes; peers
  // keep the table we last announced (see docs/protocol.md, roles).
  void set_replicating(bool on);
  // Bulks begun from now on say whether the table holds what the last promotion took over.
  void set_takeover_done(bool done) { takeover_done_ = done; }
  bool replicating() const { return replicating_; }

  // Changes from now on were made at `now` (their kernel events were read then): the start of
  // their replication latency.
  void set_clock(TimePoint now) { clock_ = now; }
  void flow_changed(const FlowKey& key);
  // The local table is about to remove the entry at `pos` and move its last entry there.
  void before_erase(std::size_t pos);
  // Expectations go out before anything else waiting: one announced just before a failover
  // is what lets its data connection in on the new active node.
  void expectation_changed(const ExpectationKey& key);
  // A node whose resync request a bulk answers, named in its BulkBegin.
  struct Requester {
    std::uint32_t node_id = 0;
    std::uint64_t boot_id = 0;
  };
  // Sends the whole table (after the bulk in progress, if any). A node that does not replicate
  // sends an empty table unless asked for a handover (see ResyncRequest). The requester, when
  // given, is named in the bulk that answers it.
  void request_bulk(bool even_if_not_replicating = false,
                    std::optional<Requester> requester = std::nullopt);
  // Appends a digest of the table to the stream when the stream is otherwise idle.
  void request_digest() { digest_wanted_ = true; }

  // Peers that gate the window. A peer's ack position only ever moves forward.
  void peer_up(std::uint32_t peer, TimePoint now);
  void peer_down(std::uint32_t peer, TimePoint now);
  void on_ack(std::uint32_t peer, std::uint64_t stream_seq, TimePoint now);
  void on_nack(std::uint64_t first, std::uint64_t last, TimePoint now);

  // The next packet to resend, or to send for the first time; nullopt when idle or when the
  // window is full. The body stays valid until the next call that changes the window.
  std::optional<StreamPacket> next_packet(TimePoint now);

  bool has_pending() const;            // queued changes, a bulk or a digest not yet in a packet
  bool can_send(TimePoint now) const;  // next_packet() would produce something
  // Enough is queued to fill a packet, or something should not wait (resends, bulks,
  // digests): otherwise the engine may hold small changes back briefly to batch them.
  bool worth_sending_now() const;
  bool has_unacked() const { return !window_.empty(); }
  bool awaiting_acks(TimePoint now) const;  // a live peer has not acknowledged everything
  std::uint64_t last_stream_seq() const { return next_stream_seq_ - 1; }
  std::uint64_t window_start() const;
  std::size_t outbox_size() const { return outbox_.size(); }
  // What a failover now would lose: changes queued, or sent and not acknowledged by the most
  // advanced peer (a flow changed again meanwhile counts once per change), and the oldest.
  std::uint64_t changes_at_risk() const;
  std::optional<TimePoint> oldest_change_at_risk() const;
  const ChangesInFlight& in_flight() const { return in_flight_; }
  bool bulk_in_progress() const { return bulk_.has_value(); }

 private:
  struct WindowEntry {
    std::uint64_t stream_seq;
    std::string body;
    TimePoint last_sent;
  };
  struct Bulk {
    std::uint64_t id;
    // The bulk walks the table by position, without a copy of it (a copy of a large table
    // costs more in fresh pages than the walk). Positions [0, end) held the table when the
    // bulk began; only removals move entries, and only from the last position downwards.
    std::size_t end = 0;
    std::size_t cursor = 0;
    std::vector<FlowKey> moved;  // moved behind the cursor before it reached them
    std::uint64_t sent = 0;
    std::vector<ExpectationKey> expectation_keys;  // sent after the flows, their masters
    std::size_t expectation_cursor = 0;
    std::uint64_t expectations_sent = 0;
    std::map<std::uint32_t, std::uint64_t> requesters;  // node id -> boot id
    bool begun = false;
    bool takeover_done = false;
  };
  struct PeerAck {
    std::uint64_t acked = 0;
    TimePoint last_progress;
  };

  std::optional<std::string> build_body();
  // Appends an upsert (or a delete, if the table no longer has it) of one expectation;
  // false when it did not fit and nothing was appended.
  bool put_expectation(std::string& body, const ExpectationKey& key, std::size_t limit,
                       bool must_fit);
  void start_bulk();
  void release_acked(TimePoint now);
  bool window_full(TimePoint now);
  std::size_t gating_peers(TimePoint now) const;

  SenderConfig config_;
  const LocalTable& table_;
  const ExpectationTable& expectations_;
  const TableDigest& digest_;
  SyncCounters& counters_;

  bool replicating_ = false;
  TimePoint clock_{};
  std::deque<FlowKey> outbox_;
  std::deque<TimePoint> outbox_times_;  // when each queued key was first changed
  FlowKeySet queued_;
  std::deque<ExpectationKey> expectation_outbox_;
  std::deque<TimePoint> expectation_outbox_times_;
  std::vector<TimePoint> body_changes_;  // when the changes in the body being built were made
  ChangesInFlight in_flight_;
  std::unordered_set<ExpectationKey, ExpectationKeyHash> expectations_queued_;
  std::optional<Bulk> bulk_;
  bool bulk_again_ = false;
  std::map<std::uint32_t, std::uint64_t> next_requesters_;  // for the bulk after this one
  bool handover_ = false;
  bool takeover_done_ = false;
  bool digest_wanted_ = false;
  std::uint64_t next_bulk_id_ = 1;

  std::uint64_t next_stream_seq_ = 1;
  std::deque<WindowEntry> window_;
  std::deque<std::uint64_t> resend_;  // stream seqs to resend, in request order
  std::map<std::uint32_t, PeerAck> peers_;
};

}  // namespace ctsync

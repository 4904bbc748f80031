#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/early_packets.hpp"
#include "core/packet_parts.hpp"
#include "core/peer_flow_observer.hpp"
#include "core/peer_marks.hpp"
#include "core/replay_window.hpp"
#include "core/role.hpp"
#include "core/sync_counters.hpp"
#include "core/table_digest.hpp"
#include "core/tables.hpp"
#include "ctsync/clock.hpp"
#include "ctsync/v1/sync.pb.h"

namespace ctsync {

// A received stream packet: its control fields parsed, its flow messages as wire bytes, and
// the packet's bytes, which are kept if it arrives early.
struct ReceivedPacket {
  const v1::Packet& control;
  const PacketParts& parts;
  std::string_view bytes;
};

struct ReceiverConfig {
  std::size_t reorder_limit = 4096;  // stream packets held while a gap is open
  Duration ack_delay = milliseconds(2);
  std::uint32_t ack_every = 32;           // stream packets after which an ack goes out at once
  Duration nack_delay = milliseconds(4);  // reordering tolerance before asking
  Duration nack_retry = milliseconds(40);
  Duration resync_retry = seconds(1);
  Duration ready_max_lag = milliseconds(750);  // sync.ready_max_lag_ms
  std::uint64_t replay_window = 8192;
  std::size_t max_nack_ranges = 16;
  // What one peer's copy may hold (the daemon derives them from nf_conntrack_max): a peer's
  // word, or a key holder's, is not a licence to grow without limit.
  std::size_t max_flows = std::size_t{1} << 22;
  std::size_t max_expectations = std::size_t{1} << 16;
  // Bytes of stream packets held ahead of gaps, every peer together.
  std::size_t max_early_bytes = std::size_t{32} << 20;
  // This node, as a bulk made for it names it (BulkBegin.requested_by). With
  // require_bound_bulks, a peer that says it names requesters is followed only from a bulk
  // made for this boot: its stream from before may be a recording (docs/security.md).
  std::uint32_t own_node_id = 0;
  std::uint64_t own_boot_id = 0;
  bool require_bound_bulks = true;
};

// Everything this node knows about one remote node: whether it is alive and in which role,
// and the receiving end of its reliable stream — reassembly in order, the replay window, the
// bulk state and the external cache that holds the remote node's flows.
class PeerReplica {
 public:
  // `remembered`: the newest datagram accepted from this peer before this node restarted.
  PeerReplica(std::uint32_t node_id, const ReceiverConfig& config, SyncCounters& counters,
              PeerFlowObserver* observer, std::optional<PeerMark> remembered = std::nullopt);

  enum class BootVerdict { same, restarted, replay };
  BootVerdict check_boot(std::uint64_t boot_id);
  ReplayWindow::Verdict check_datagram(std::uint64_t seq) { return replay_.check_and_mark(seq); }

  void heard(TimePoint now);
  // Packet.features of the newest datagram accepted from the peer.
  void note_features(std::uint32_t features);
  std::uint32_t features() const { return features_; }
  // The peer names requesters in its bulks and none has named this boot of ours yet: until
  // one does, its stream is passed over and its table asked for.
  bool awaiting_bound_bulk() const;
  void on_heartbeat(const v1::Heartbeat& hb, TimePoint now);
  // Whether stream packet `stream_seq` would be news: neither applied nor held early.
  bool lacks_stream_packet(std::uint64_t stream_seq) const {
    return (next_expected_ == 0 || stream_seq >= next_expected_) && !pending_.contains(stream_seq);
  }
  // Applies the packet if it is the next one; keeps a copy if it is early.
  void on_stream_packet(const ReceivedPacket& packet, TimePoint now);

  // Timers: what the engine should send on this peer's behalf now.
  bool ack_due(TimePoint now) const;
  std::uint64_t ack_position() const { return next_expected_ == 0 ? 0 : next_expected_ - 1; }
  void ack_sent() { ack_pending_ = false, since_ack_ = 0; }
  // Missing ranges to nack now (empty when none is due).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> take_due_nacks(TimePoint now);
  bool resync_due(TimePoint now) const;
  void resync_sent(TimePoint now);
  void want_resync(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // Liveness and readiness.
  bool up(TimePoint now, Duration timeout) const { return heard_ && now - last_heard_ <= timeout; }
  bool complete() const { return complete_ && !need_resync_ && !full_; }
  // A new entry found no room since the last bulk began: what the copy lacks is unknown.
  bool full() const { return full_; }
  bool in_sync(TimePoint now) const;

  std::uint32_t node_id() const { return node_id_; }
  std::uint64_t boot_id() const { return boot_id_; }
  // The newest datagram accepted since this node started: what to remember across its next
  // restart. None before the first (the engine keeps what was remembered from before).
  std::optional<PeerMark> mark() const;
  Role role() const { return role_; }
  bool claims_ready() const { return claims_ready_; }
  TimePoint last_heard() const { return last_heard_; }
  std::optional<TimePoint> last_active_claim() const { return last_active_claim_; }
  // The peer claims active now and this copy holds a whole table it sent since it last became
  // active: whatever it took over from an earlier active node is in this copy, and the copy of
  // that node can go (SyncEngine::retire_superseded_copies).
  bool holds_current_reign() const {
    return role_ == Role::active && active_since_ && bulk_done_at_ && bulk_after_takeover_ &&
           *bulk_done_at_ >= *active_since_ && complete();
  }
  std::uint64_t next_expected() const { return next_expected_; }
  std::uint64_t last_seen_stream_seq() const { return last_seen_; }
  std::uint64_t lag_packets() const;  // stream packets sent by the peer that we have not applied
  // How long this copy has been behind what the peer announced (its heartbeats' newest
  // stream position): since the moment it last held everything; 0 while it does.
  Duration behind(TimePoint now) const { return gap_since_ ? now - *gap_since_ : Duration{}; }
  const PeerTable& table() const { return table_; }
  const ExpectationTable& expectations() const { return expectations_; }
  PeerTable& table() { return table_; }
  // Brought up to date first if a bulk left it stale.
  const TableDigest& digest() const;
  bool bulk_in_progress() const { return in_bulk_; }
  // Flow changes applied so far (wraps); PeerMeta::changed is a value of it.
  std::uint32_t changes() const { return changes_; }
  // Changes applied since the last complete bulk: what the live stream brought.
  std::uint32_t changes_since_bulk() const { return changes_ - changes_at_bulk_end_; }

  // Forget the peer's flows (operator flush), telling the observer.
  void clear_table();

 private:
  void reset_stream();
  void first_contact();
  void apply(const ReceivedPacket& p, TimePoint now);
  bool names_this_boot(const v1::BulkBegin& begin) const;
  void apply_early(const std::string& bytes, TimePoint now);  // one kept in pending_
  void advance(TimePoint now);
  void note_gap(TimePoint now);
  void note_active_claim(TimePoint now);
  void skip_to(std::uint64_t stream_seq, TimePoint now);
  void upsert(Flow&& flow);
  void erase(const FlowKey& key);

  std::uint32_t node_id_;
  const ReceiverConfig& config_;
  SyncCounters& counters_;
  PeerFlowObserver* observer_;

  std::optional<PeerMark> remembered_;
  std::uint32_t features_ = 0;
  // A bulk from this peer has named this boot of ours: what follows it is no recording. Kept
  // across the peer's restarts: a boot newer than one heard live is newer than any recording.
  bool bound_ = false;
  bool full_ = false;
  std::uint64_t boot_id_ = 0;
  bool heard_ = false;
  TimePoint last_heard_{};
  Role role_ = Role::unknown;
  bool claims_ready_ = false;
  std::optional<TimePoint> last_active_claim_;
  std::optional<TimePoint> active_since_;  // when it last turned active, as we heard it
  std::optional<TimePoint> bulk_done_at_;  // when its last complete bulk ended here
  bool bulk_after_takeover_ = false;       // that bulk's BulkBegin.takeover_done
  bool bulk_says_takeover_done_ = false;   // the one in progress
  ReplayWindow replay_;

  // Stream reassembly.
  std::uint64_t next_expected_ = 0;  // 0 until first contact with this boot
  std::uint64_t last_seen_ = 0;      // highest stream seq known to exist (packets, heartbeats)
  std::uint64_t window_start_seen_ = 0;
  EarlyPackets pending_;
  std::optional<TimePoint> gap_since_;
  TimePoint nack_due_{};
  bool ack_pending_ = false;
  std::uint32_t since_ack_ = 0;
  TimePoint ack_due_at_{};

  // Completeness: a whole bulk received in order since joining the stream.
  bool complete_ = false;
  bool need_resync_ = false;
  TimePoint resync_sent_at_{};
  bool resync_ever_sent_ = false;
  bool in_bulk_ = false;
  std::uint64_t bulk_id_ = 0;
  std::uint32_t generation_ = 0;

  PeerTable table_;
  std::uint32_t changes_ = 0;
  std::uint32_t changes_at_bulk_end_ = 0;
  std::vector<Flow> decoded_;  // one packet's upserts, reused
  ExpectationTable expectations_;
  // A bulk fills the table without it (a hash of every flow, a tenth of the receiver's time);
  // it is rebuilt once, when next asked for: a digest from the peer comes every 10 s.
  mutable TableDigest digest_;
  mutable bool digest_stale_ = false;
};

}  // namespace ctsync

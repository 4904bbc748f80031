#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/peer_replica.hpp"
#include "core/replication_sender.hpp"
#include "core/sync_counters.hpp"
#include "core/table_digest.hpp"
#include "core/tables.hpp"
#include "ctsync/clock.hpp"

namespace ctsync {

struct EngineConfig {
  std::uint32_t node_id = 1;
  std::uint64_t boot_id = 1;
  std::size_t max_packet_bytes = 1400;  // plaintext Packet; the transport adds its overhead
  Duration heartbeat_interval = milliseconds(200);
  Duration peer_timeout = seconds(1);
  Duration tail_probe = milliseconds(20);  // a quiet sender with unacked data says where it is
  // Changes too few to fill a packet wait this long for company (fewer, fuller datagrams).
  Duration batch_delay = milliseconds(2);
  Duration digest_interval = seconds(10);
  std::size_t max_peers = 64;
  // The newest datagram accepted from each peer before this node restarted (state directory).
  PeerMarks remembered_peers;
  std::size_t max_datagrams_per_poll = 64;  // kernel events get the loop between rounds
  // Packet.features: what this node does. Tests clear it to stand for a release before 0.2.0.
  std::uint32_t features = v1::FEATURE_DERIVED_SEALING | v1::FEATURE_BOUND_BULKS;
  SenderConfig sender;
  ReceiverConfig receiver;
};

// One node's side of the replication protocol, without I/O: the internal cache and the
// sender for it, one PeerReplica per remote node, heartbeats, acks, nacks, resync requests
// and readiness. The transport feeds it opened datagrams and sends what poll() returns; time
// comes from the caller.
class SyncEngine {
 public:
  SyncEngine(EngineConfig config, PeerFlowObserver* observer, TimePoint now);

  // Kernel events read at `now` are about to be applied: the changes they make are timed from
  // it (replication latency, changes at risk). poll() and receive() set it too.
  void note_time(TimePoint now) { sender_.set_clock(now); }
  // The internal cache. Changes reach peers only while this node is active.
  // `counters`, when given, replace the stored ones (events without counters keep them).
  void local_upsert(const Flow& flow, const FlowCounters* counters = nullptr);
  // From a periodic dump: a timeout that merely counted down (the kernel refreshes timeouts
  // on traffic without events) is not a change worth replicating; the stored one is kept.
  void local_refresh(const Flow& flow, const FlowCounters& counters = {});
  void local_erase(const FlowKey& key);
  // A resync pass: flows not upserted between begin and end are removed (they vanished while
  // kernel events were lost). Returns how many were removed.
  void begin_local_pass();
  std::size_t end_local_pass();
  void local_clear();
  // Starts a new role epoch: flows first seen from now on carry it (LocalMeta::epoch).
  std::uint32_t begin_local_epoch() { return ++local_epoch_; }
  std::uint32_t local_epoch() const { return local_epoch_; }
  const LocalTable& local() const { return local_; }
  // A local flow's kernel counters as last observed (zero when accounting is off).
  FlowCounters counters_of(const LocalMeta& meta) const;
  // Local flows whose counters are kept (those the kernel reported any for).
  std::size_t flows_with_counters() const { return local_counters_.size(); }

  // The kernel's expectations: from events, and whole from a dump (which also removes the
  // ones that vanished meanwhile).
  void local_expectation_upsert(const Expectation& e);
  void local_expectation_erase(const ExpectationKey& key);
  void replace_local_expectations(const std::vector<Expectation>& all);
  const ExpectationTable& local_expectations() const { return local_expectations_; }
  const TableDigest& local_digest() const { return local_digest_; }

  void set_role(Role role, TimePoint now);
  Role role() const { return role_; }
  void announce_table() { sender_.request_bulk(); }  // send our whole table
  // Active, and every flow the last promotion took over is in our table (its commit wrote them
  // all and was read back): bulks say so from now on, and our copies of nodes that are not
  // active can go (retire_superseded_copies). Not after a commit that failed some flows:
  // other nodes' copies still hold those, for a `ctsyncctl commit` or the next takeover.
  void takeover_complete();
  bool takeover_done() const { return takeover_done_; }
  void request_resync(TimePoint now);  // ask every peer for theirs
  void flush_peer_tables();
  // After a promotion's commit was interrupted (killed): ask every peer, active or not, for
  // its table, for a while, so the commit can be done again from their copies.
  void request_handover(TimePoint now, Duration for_how_long);
  std::vector<const PeerReplica*> complete_peers() const;

  // A datagram that opened: a serialized v1::Packet.
  void receive(std::string_view plaintext, TimePoint now);
  // Datagrams to send now, as serialized v1::Packets.
  void poll(TimePoint now, std::vector<std::string>& out);
  // The latest time poll() must be called again.
  TimePoint next_wakeup(TimePoint now) const;

  // What a failover now would lose, as the active node sees it: changes queued, or sent and
  // not acknowledged by the most advanced peer (a down one too: it would take over), and how
  // long ago the oldest of them was made.
  struct AtRisk {
    std::uint64_t changes = 0;
    Duration oldest{};
  };
  AtRisk at_risk(TimePoint now) const;
  // A peer that reads only datagrams sealed with the pre-shared key itself is up.
  bool legacy_peer_up(TimePoint now) const;

  bool ready(TimePoint now) const;
  std::string readiness_reason(TimePoint now) const;  // why not ready, for operators
  bool peer_up(const PeerReplica& p, TimePoint now) const {
    return p.up(now, config_.peer_timeout);
  }
  const std::map<std::uint32_t, std::unique_ptr<PeerReplica>>& peers() const { return peers_; }
  // What to remember across a restart: the newest datagram accepted from every peer, heard
  // since this start or remembered from before it.
  PeerMarks peer_marks() const;
  // Peers whose tables a promotion commits: those seen active since this node last was.
  std::vector<const PeerReplica*> commit_sources() const;
  std::size_t external_size() const;

  const SyncCounters& counters() const { return counters_; }
  SyncCounters& counters() { return counters_; }
  const ReplicationSender& sender() const { return sender_; }
  const EngineConfig& config() const { return config_; }

 private:
  PeerReplica* peer_for(std::uint32_t node_id, TimePoint now);
  void update_liveness(TimePoint now);
  bool heartbeat_due(TimePoint now) const;
  // A peer we can talk to about its stream: alive, and its stream position known.
  bool serviceable(const PeerReplica& p, TimePoint now) const;
  std::string make_datagram(TimePoint now, const StreamPacket* stream, bool with_heartbeat,
                            bool force_acks);
  void pad_to(std::string& datagram, std::size_t size);
  bool control_due(TimePoint now) const;
  // With three nodes or more, a node that was active and is no longer leaves a copy of its
  // table on every other node. Once a later active node's whole table is here (or this node
  // is active and has announced its own), that copy only holds what the later node closed
  // since: committing it would reopen them. It is dropped.
  void retire_superseded_copies(TimePoint now);
  void keep_counters(LocalMeta& meta, const FlowCounters& counters);

  EngineConfig config_;
  PeerFlowObserver* observer_;
  SyncCounters counters_;

  LocalTable local_;
  Slab<FlowCounters> local_counters_;  // LocalMeta::counters
  ExpectationTable local_expectations_;
  TableDigest local_digest_;
  std::uint32_t local_generation_ = 0;
  std::uint32_t local_epoch_ = 0;
  ReplicationSender sender_;
  std::map<std::uint32_t, std::unique_ptr<PeerReplica>> peers_;
  std::map<std::uint32_t, bool> was_up_;

  Role role_ = Role::backup;
  std::optional<TimePoint> last_demoted_at_;
  bool takeover_done_ = false;  // active, and our table announced since the promotion
  TimePoint started_at_;
  std::uint64_t next_seq_ = 1;
  TimePoint last_sent_at_{};
  std::optional<TimePoint> pending_since_;  // first poll that found changes queued
  std::vector<char> arena_block_ = std::vector<char>(64 * 1024);
  PacketParts parts_;  // the packet being received, reused
  TimePoint next_heartbeat_at_{};
  TimePoint next_digest_at_{};
  bool broadcast_resync_ = false;
  std::optional<TimePoint> handover_until_;
  TimePoint next_handover_request_{};
};

}  // namespace ctsync

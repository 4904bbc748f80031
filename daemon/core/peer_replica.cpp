#include "core/peer_replica.hpp"

#include <algorithm>

#include "core/expectation_codec.hpp"
#include "core/flow_codec.hpp"

namespace ctsync {

PeerReplica::PeerReplica(std::uint32_t node_id, const ReceiverConfig& config,
                         SyncCounters& counters, PeerFlowObserver* observer,
                         std::optional<PeerMark> remembered)
    : node_id_(node_id),
      config_(config),
      counters_(counters),
      observer_(observer),
      remembered_(remembered),
      replay_(config.replay_window),
      pending_(counters, config.max_early_bytes) {
  // The takeover hold finds a reply-direction packet's flow by its reply tuple.
  table_.index_replies();
}

PeerReplica::BootVerdict PeerReplica::check_boot(std::uint64_t boot_id) {
  if (!heard_ && boot_id_ == 0) {
    // The first boot heard since this node started. Before a restart of ours it would have
    // been taken as is; now what we accepted before bounds it from below.
    if (remembered_ && boot_id < remembered_->boot_id) return BootVerdict::replay;
    boot_id_ = boot_id;
    if (remembered_ && boot_id == remembered_->boot_id) replay_.set_floor(remembered_->seq);
    return BootVerdict::same;
  }
  if (boot_id < boot_id_) return BootVerdict::replay;
  if (boot_id == boot_id_) return BootVerdict::same;
  // A new boot starts a new sequence space; the flows it announced before stay until its
  // first complete bulk replaces them.
  boot_id_ = boot_id;
  reset_stream();
  return BootVerdict::restarted;
}

std::optional<PeerMark> PeerReplica::mark() const {
  if (boot_id_ == 0 || replay_.highest() == 0) return std::nullopt;
  return PeerMark{boot_id_, replay_.highest()};
}

void PeerReplica::reset_stream() {
  replay_.reset();
  next_expected_ = 0;
  last_seen_ = 0;
  window_start_seen_ = 0;
  pending_.clear();
  gap_since_.reset();
  ack_pending_ = false;
  since_ack_ = 0;
  complete_ = false;
  need_resync_ = false;
  resync_ever_sent_ = false;
  in_bulk_ = false;
}

void PeerReplica::heard(TimePoint now) {
  heard_ = true;
  last_heard_ = now;
}

void PeerReplica::note_features(std::uint32_t features) {
  features_ = features;
  if (awaiting_bound_bulk()) want_resync(TimePoint{});
}

bool PeerReplica::awaiting_bound_bulk() const {
  return config_.require_bound_bulks && (features_ & v1::FEATURE_BOUND_BULKS) != 0 && !bound_;
}

bool PeerReplica::names_this_boot(const v1::BulkBegin& begin) const {
  for (const auto& r : begin.requested_by()) {
    if (r.node_id() == config_.own_node_id && r.boot_id() == config_.own_boot_id) return true;
  }
  return false;
}

void PeerReplica::want_resync(TimePoint /*now*/) {
  if (need_resync_) return;
  need_resync_ = true;
  resync_ever_sent_ = false;
}

bool PeerReplica::resync_due(TimePoint now) const {
  // Only an active peer has a table worth asking for; a backup announces nothing.
  return need_resync_ && role_ == Role::active &&
         (!resync_ever_sent_ || now - resync_sent_at_ >= config_.resync_retry);
}

void PeerReplica::resync_sent(TimePoint now) {
  resync_sent_at_ = now;
  resync_ever_sent_ = true;
  counters_.resync_requests_sent += 1;
}

void PeerReplica::first_contact() {
  // Try to follow the stream from its very start (the sender keeps recent history); if the
  // sender's window has moved past it, the next heartbeat says so and we ask for a bulk.
  next_expected_ = 1;
}

void PeerReplica::on_heartbeat(const v1::Heartbeat& hb, TimePoint now) {
  role_ = role_from_number(hb.role());
  claims_ready_ = hb.ready();
  if (role_ == Role::active) {
    note_active_claim(now);
  } else {
    active_since_.reset();
  }
  if (next_expected_ == 0) first_contact();
  last_seen_ = std::max(last_seen_, hb.last_stream_seq());
  window_start_seen_ = std::max(window_start_seen_, hb.window_start());
  if (next_expected_ < window_start_seen_ && last_seen_ >= next_expected_) {
    skip_to(window_start_seen_, now);
  }
  if (last_seen_ >= next_expected_) note_gap(now);
}

void PeerReplica::on_stream_packet(const ReceivedPacket& packet, TimePoint now) {
  const std::uint64_t s = packet.control.stream_seq();
  if (next_expected_ == 0) first_contact();
  note_active_claim(now);  // only an active node sends stream packets
  last_seen_ = std::max(last_seen_, s);
  if (s < next_expected_ || pending_.contains(s)) {
    counters_.stream_duplicates += 1;
    // Our ack was probably lost: repeat it soon so the sender stops resending.
    if (!ack_pending_) ack_due_at_ = now + config_.ack_delay;
    ack_pending_ = true;
    return;
  }
  if (s == next_expected_) {
    apply(packet, now);
    ++next_expected_;
    ++since_ack_;
    advance(now);
    return;
  }
  if (packet.control.has_bulk_begin()) {
    // A bulk replaces the sender's whole table: whatever we miss before it no longer
    // matters. Join the stream here rather than wait for (or give up on) the gap.
    counters_.gaps_skipped_for_bulk += 1;
    pending_.drop_below(s);
    next_expected_ = s;
    gap_since_.reset();
    apply(packet, now);
    ++next_expected_;
    ++since_ack_;
    advance(now);
    if (!pending_.empty() || last_seen_ >= next_expected_) note_gap(now);
    return;
  }
  if (s - next_expected_ > config_.reorder_limit) {
    note_gap(now);  // beyond what we hold; the next heartbeat tells whether it is repairable
    return;
  }
  pending_.keep(s, packet.bytes);  // without room, the nack asks for it again later
  note_gap(now);
}

void PeerReplica::note_active_claim(TimePoint now) {
  if (!active_since_) active_since_ = now;
  last_active_claim_ = now;
}

void PeerReplica::advance(TimePoint now) {
  while (!pending_.empty() && pending_.first() <= next_expected_) {
    const auto [seq, bytes] = pending_.take_first();
    if (seq == next_expected_) {
      apply_early(bytes, now);
      ++next_expected_;
      ++since_ack_;
    }
  }
  if (gap_since_ && pending_.empty() && last_seen_ < next_expected_) {
    gap_since_.reset();
    counters_.gaps_repaired += 1;
  }
  if (!ack_pending_) ack_due_at_ = now + config_.ack_delay;
  ack_pending_ = true;
  if (since_ack_ >= config_.ack_every) ack_due_at_ = now;
}

void PeerReplica::note_gap(TimePoint now) {
  if (gap_since_) return;
  gap_since_ = now;
  nack_due_ = now + config_.nack_delay;
  counters_.gaps_detected += 1;
}

void PeerReplica::skip_to(std::uint64_t stream_seq, TimePoint now) {
  // What we miss is no longer in the sender's window: take what we can and ask for a bulk.
  counters_.gaps_unrepairable += 1;
  pending_.drop_below(stream_seq);
  next_expected_ = std::max(next_expected_, stream_seq);
  in_bulk_ = false;
  complete_ = false;
  want_resync(now);
  gap_since_.reset();
  advance(now);
  if (!pending_.empty() || last_seen_ >= next_expected_) note_gap(now);
}

bool PeerReplica::ack_due(TimePoint now) const {
  return ack_pending_ && now >= ack_due_at_;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> PeerReplica::take_due_nacks(TimePoint now) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  if (!gap_since_ || now < nack_due_ || next_expected_ == 0) return ranges;
  std::uint64_t start = next_expected_;
  for (const auto& [s, p] : pending_) {
    if (ranges.size() >= config_.max_nack_ranges) break;
    if (s > start) ranges.emplace_back(start, s - 1);
    start = s + 1;
  }
  if (ranges.size() < config_.max_nack_ranges && last_seen_ >= start) {
    ranges.emplace_back(start, last_seen_);
  }
  nack_due_ = now + config_.nack_retry;
  return ranges;
}

std::optional<TimePoint> PeerReplica::next_deadline() const {
  std::optional<TimePoint> t;
  auto consider = [&t](TimePoint c) {
    if (!t || c < *t) t = c;
  };
  if (ack_pending_) consider(ack_due_at_);
  if (gap_since_) consider(nack_due_);
  if (need_resync_ && role_ == Role::active) {
    consider(resync_ever_sent_ ? resync_sent_at_ + config_.resync_retry : TimePoint{});
  }
  return t;
}

bool PeerReplica::in_sync(TimePoint now) const {
  return complete() && (!gap_since_ || now - *gap_since_ < config_.ready_max_lag);
}

std::uint64_t PeerReplica::lag_packets() const {
  if (next_expected_ == 0) return last_seen_;
  return last_seen_ >= next_expected_ ? last_seen_ - next_expected_ + 1 : 0;
}

void PeerReplica::upsert(Flow&& flow) {
  if (table_.size() >= config_.max_flows && table_.position(flow.key) == PeerTable::npos) {
    counters_.peer_flows_refused += 1;
    full_ = true;
    return;
  }
  auto [e, inserted] = table_.find_or_insert(flow, PeerMeta{generation_, ++changes_});
  if (!inserted) {
    if (!digest_stale_) digest_.remove(e.flow);
    table_.assign(e.position, flow);
    e.meta.generation = generation_;
    e.meta.changed = changes_;
  }
  if (!digest_stale_) digest_.add(flow);
  if (observer_) observer_->peer_flow_upserted(node_id_, flow);
}

const TableDigest& PeerReplica::digest() const {
  if (digest_stale_) {
    digest_ = TableDigest{};
    for (const auto& e : table_) digest_.add(e.flow);
    digest_stale_ = false;
  }
  return digest_;
}

void PeerReplica::erase(const FlowKey& key) {
  const auto found = table_.find_flow(key);
  if (!found) return;
  const Flow gone = *found;
  if (!digest_stale_) digest_.remove(gone);
  table_.erase(key);
  if (observer_) observer_->peer_flow_erased(node_id_, gone);
  // A full copy lacks what it refused. Once the peer's deletes have made a tenth of room,
  // ask for its table again: asking at once would repeat a bulk that cannot fit.
  if (full_ && !need_resync_ && table_.size() <= config_.max_flows - config_.max_flows / 10) {
    want_resync(TimePoint{});
  }
}

void PeerReplica::clear_table() {
  std::vector<FlowKey> keys;
  keys.reserve(table_.size());
  for (std::size_t i = 0; i < table_.size(); ++i) keys.push_back(table_.key_at(i));
  for (const auto& k : keys) erase(k);
  expectations_.clear();
  complete_ = false;
}

void PeerReplica::apply_early(const std::string& bytes, TimePoint now) {
  // It split and parsed when it arrived; the same bytes do again.
  PacketParts parts;
  v1::Packet control;
  if (!split_packet(bytes, parts) || !control.ParseFromString(parts.control)) return;
  apply(ReceivedPacket{control, parts, bytes}, now);
}

void PeerReplica::apply(const ReceivedPacket& packet, TimePoint now) {
  const v1::Packet& p = packet.control;
  if (awaiting_bound_bulk()) {
    // Nothing a recording could hold may count here: neither its flows nor its bulks.
    if (!p.has_bulk_begin() || !names_this_boot(p.bulk_begin())) {
      counters_.stream_before_bound_bulk += 1;
      return;
    }
    bound_ = true;
  }
  if (p.has_bulk_begin()) {
    counters_.received.add(MessageType::bulk_begin, p.bulk_begin().ByteSizeLong());
    in_bulk_ = true;
    bulk_id_ = p.bulk_begin().bulk_id();
    bulk_says_takeover_done_ = p.bulk_begin().takeover_done();
    // Room for the whole table at once rather than growth step by step; capped, since the
    // count is the sender's word and a reservation is ours to pay for.
    table_.reserve(std::min<std::uint64_t>(p.bulk_begin().flow_count(), config_.max_flows));
    ++generation_;
    full_ = false;
    digest_stale_ = true;
    need_resync_ = false;
    resync_ever_sent_ = false;
  }
  for (const std::string_view m : packet.parts.deletes) {
    counters_.received.add(MessageType::flow_delete, m.size());
    auto key = decode_key(m);
    if (!key) {
      counters_.decode_errors += 1;
      continue;
    }
    erase(*key);
  }
  // Decoded first, applied after: the table lookups of a whole packet overlap their misses.
  decoded_.clear();
  for (const std::string_view m : packet.parts.upserts) {
    counters_.received.add(MessageType::flow_upsert, m.size());
    auto flow = decode_flow(m);
    if (!flow) {
      counters_.decode_errors += 1;
      continue;
    }
    table_.prefetch(flow->key);
    decoded_.push_back(*flow);
  }
  for (Flow& f : decoded_) upsert(std::move(f));
  for (const auto& m : p.expectation_deletes()) {
    counters_.received.add(MessageType::expectation_delete, m.ByteSizeLong());
    auto key = decode_expectation_key(m);
    if (!key) {
      counters_.decode_errors += 1;
      continue;
    }
    expectations_.erase(*key);
  }
  for (const auto& m : p.expectation_upserts()) {
    counters_.received.add(MessageType::expectation_upsert, m.ByteSizeLong());
    auto e = decode_expectation(m);
    if (!e) {
      counters_.decode_errors += 1;
      continue;
    }
    const ExpectationKey key = e->key();
    if (expectations_.size() >= config_.max_expectations && !expectations_.contains(key)) {
      counters_.peer_expectations_refused += 1;
      full_ = true;
      continue;
    }
    expectations_.insert_or_assign(key, ExpectationEntry{std::move(*e), generation_});
  }
  if (p.has_digest()) {
    counters_.received.add(MessageType::digest, p.digest().ByteSizeLong());
    const TableDigest theirs{p.digest().flow_count(), p.digest().flow_xor()};
    if (!in_bulk_ && complete_ && !(theirs == digest())) {
      counters_.digest_mismatches += 1;
      complete_ = false;
      want_resync(now);
    }
  }
  if (p.has_bulk_end()) {
    counters_.received.add(MessageType::bulk_end, p.bulk_end().ByteSizeLong());
    if (in_bulk_ && p.bulk_end().bulk_id() == bulk_id_) {
      std::vector<FlowKey> stale;
      for (std::size_t i = 0; i < table_.size(); ++i) {
        if (table_.meta_at(i).generation != generation_) stale.push_back(table_.key_at(i));
      }
      for (const auto& k : stale) erase(k);
      std::erase_if(expectations_,
                    [this](const auto& kv) { return kv.second.generation != generation_; });
      in_bulk_ = false;
      complete_ = true;
      bulk_done_at_ = now;
      bulk_after_takeover_ = bulk_says_takeover_done_;
      changes_at_bulk_end_ = changes_;
      counters_.bulks_completed += 1;
    }
  }
}

}  // namespace ctsync

#include "core/sync_engine.hpp"

#include <algorithm>
#include <chrono>

namespace ctsync {

namespace {
SenderConfig sender_config(const EngineConfig& c) {
  SenderConfig s = c.sender;
  // The stream part shares the datagram with the header (about 20 bytes) and a heartbeat
  // (at most about 40); acks, nacks and requests join it only where they fit, and go in a
  // datagram of their own otherwise. Fuller datagrams are fewer headers per flow.
  s.max_body_bytes = c.max_packet_bytes > 300 ? c.max_packet_bytes - 80 : c.max_packet_bytes / 2;
  return s;
}

EngineConfig with_identity(EngineConfig c) {
  c.receiver.own_node_id = c.node_id;
  c.receiver.own_boot_id = c.boot_id;
  c.receiver.require_bound_bulks = (c.features & v1::FEATURE_BOUND_BULKS) != 0;
  return c;
}
}  // namespace

SyncEngine::SyncEngine(EngineConfig config, PeerFlowObserver* observer, TimePoint now)
    : config_(with_identity(std::move(config))),
      observer_(observer),
      sender_(sender_config(config_), local_, local_expectations_, local_digest_, counters_),
      started_at_(now),
      next_heartbeat_at_(now),
      next_digest_at_(now + config.digest_interval) {}

void SyncEngine::local_upsert(const Flow& flow, const FlowCounters* counters) {
  // One lookup whether the flow is new (most of a storm) or known.
  auto [e, inserted] = local_.find_or_insert(flow, LocalMeta{local_generation_, local_epoch_, 0});
  if (counters) keep_counters(e.meta, *counters);
  if (!inserted) {
    e.meta.generation = local_generation_;
    if (same_replicated_state(e.flow, flow)) return;
    local_digest_.remove(e.flow);
    local_.assign(e.position, flow);
  }
  local_digest_.add(flow);
  sender_.flow_changed(flow.key);
}

void SyncEngine::local_refresh(const Flow& flow, const FlowCounters& counters) {
  if (auto e = local_.find(flow.key)) {
    Flow same_timeout = flow;
    same_timeout.timeout = e->flow.timeout;
    if (same_replicated_state(e->flow, same_timeout)) {
      e->meta.generation = local_generation_;
      keep_counters(e->meta, counters);
      return;
    }
  }
  local_upsert(flow, &counters);
}

void SyncEngine::keep_counters(LocalMeta& meta, const FlowCounters& counters) {
  if (meta.counters != 0) {
    local_counters_[meta.counters] = counters;
  } else if (!counters.empty()) {
    meta.counters = local_counters_.add(counters);
  }
}

FlowCounters SyncEngine::counters_of(const LocalMeta& meta) const {
  return meta.counters != 0 ? local_counters_[meta.counters] : FlowCounters{};
}

void SyncEngine::local_erase(const FlowKey& key) {
  const std::size_t pos = local_.position(key);
  if (pos == LocalTable::npos) return;
  local_digest_.remove(local_.flow_at(pos));
  local_counters_.release(local_.meta_at(pos).counters);
  sender_.before_erase(pos);
  local_.erase(key);
  sender_.flow_changed(key);
}

void SyncEngine::local_expectation_upsert(const Expectation& e) {
  auto [it, inserted] = local_expectations_.try_emplace(e.key(), ExpectationEntry{e, 0});
  if (!inserted) {
    if (it->second.expectation == e) return;
    it->second.expectation = e;
  }
  sender_.expectation_changed(e.key());
}

void SyncEngine::local_expectation_erase(const ExpectationKey& key) {
  if (local_expectations_.erase(key) != 0) sender_.expectation_changed(key);
}

void SyncEngine::replace_local_expectations(const std::vector<Expectation>& all) {
  ExpectationTable seen;
  for (const auto& e : all) seen.try_emplace(e.key(), ExpectationEntry{e, 0});
  std::vector<ExpectationKey> gone;
  for (const auto& [key, entry] : local_expectations_) {
    if (seen.count(key) == 0) gone.push_back(key);
  }
  for (const auto& key : gone) local_expectation_erase(key);
  for (const auto& e : all) local_expectation_upsert(e);
}

void SyncEngine::begin_local_pass() {
  ++local_generation_;
}

std::size_t SyncEngine::end_local_pass() {
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < local_.size(); ++i) {
    if (local_.meta_at(i).generation != local_generation_) gone.push_back(local_.key_at(i));
  }
  for (const auto& k : gone) local_erase(k);
  return gone.size();
}

void SyncEngine::local_clear() {
  std::vector<FlowKey> keys;
  for (std::size_t i = 0; i < local_.size(); ++i) keys.push_back(local_.key_at(i));
  for (const auto& k : keys) local_erase(k);
}

// The domain role travels as the wire's enum with the same numbers.
static_assert(static_cast<int>(Role::backup) == v1::ROLE_BACKUP);
static_assert(static_cast<int>(Role::active) == v1::ROLE_ACTIVE);
static_assert(static_cast<int>(Role::fault) == v1::ROLE_FAULT);

void SyncEngine::set_role(Role role, TimePoint now) {
  if (role == role_) return;
  const bool was_active = role_ == Role::active;
  role_ = role;
  takeover_done_ = false;
  if (role == Role::active) {
    sender_.set_replicating(true);
    sender_.set_takeover_done(false);
  } else if (was_active) {
    sender_.set_replicating(false);
    last_demoted_at_ = now;
  }
  next_heartbeat_at_ = now;  // tell peers at once
}

void SyncEngine::takeover_complete() {
  if (role_ != Role::active) return;
  sender_.set_takeover_done(true);
  takeover_done_ = true;
}

void SyncEngine::retire_superseded_copies(TimePoint now) {
  for (auto& [id, p] : peers_) {
    if (p->table().size() == 0 && p->expectations().empty()) continue;
    if (p->role() == Role::active && p->up(now, config_.peer_timeout)) continue;
    const auto claim = p->last_active_claim();
    // A backup never announced anything; a copy without a claim is kept as it is.
    if (!claim) continue;
    // Active with our table announced: it is the table now, whatever a peer that is not
    // active held (one we took over from, or one that stepped down after a split brain).
    bool superseded = role_ == Role::active && takeover_done_;
    for (const auto& [other_id, other] : peers_) {
      if (superseded) break;
      if (other_id == id || !other->up(now, config_.peer_timeout)) continue;
      superseded = other->holds_current_reign() && other->last_active_claim() > claim;
    }
    if (!superseded) continue;
    counters_.copies_superseded += 1;
    counters_.flows_superseded += p->table().size();
    p->clear_table();
  }
}

void SyncEngine::request_resync(TimePoint now) {
  for (auto& [id, p] : peers_) p->want_resync(now);
  broadcast_resync_ = true;  // for peers we have not heard of yet
}

void SyncEngine::request_handover(TimePoint now, Duration for_how_long) {
  handover_until_ = now + for_how_long;
  next_handover_request_ = now;
  for (auto& [id, p] : peers_) p->want_resync(now);
}

std::vector<const PeerReplica*> SyncEngine::complete_peers() const {
  std::vector<const PeerReplica*> out;
  for (const auto& [id, p] : peers_) {
    if (p->complete()) out.push_back(p.get());
  }
  return out;
}

void SyncEngine::flush_peer_tables() {
  for (auto& [id, p] : peers_) p->clear_table();
}

std::size_t SyncEngine::external_size() const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_) n += p->table().size();
  return n;
}

std::vector<const PeerReplica*> SyncEngine::commit_sources() const {
  std::vector<const PeerReplica*> out;
  for (const auto& [id, p] : peers_) {
    const auto claim = p->last_active_claim();
    if (!claim) continue;
    if (last_demoted_at_ && *claim < *last_demoted_at_) continue;  // older than our own reign
    out.push_back(p.get());
  }
  return out;
}

PeerMarks SyncEngine::peer_marks() const {
  PeerMarks marks = config_.remembered_peers;
  for (const auto& [id, p] : peers_) {
    if (auto m = p->mark()) marks[id] = *m;
  }
  return marks;
}

PeerReplica* SyncEngine::peer_for(std::uint32_t node_id, TimePoint now) {
  auto it = peers_.find(node_id);
  if (it != peers_.end()) return it->second.get();
  if (peers_.size() >= config_.max_peers) {
    // All slots taken: a new node gets the slot of a silent peer whose copy is empty (a node
    // removed or renumbered, a backup that never announced a flow), the one unheard longest.
    // A silent peer with flows keeps its slot: a crashed active node's copy is exactly what
    // the next promotion commits.
    auto victim = peers_.end();
    for (auto p = peers_.begin(); p != peers_.end(); ++p) {
      const PeerReplica& r = *p->second;
      if (r.up(now, config_.peer_timeout) || r.table().size() != 0 || !r.expectations().empty()) {
        continue;
      }
      if (victim == peers_.end() || r.last_heard() < victim->second->last_heard()) victim = p;
    }
    if (victim == peers_.end()) return nullptr;
    was_up_.erase(victim->first);
    peers_.erase(victim);
    counters_.peer_slots_reused += 1;
  }
  std::optional<PeerMark> remembered;
  if (auto r = config_.remembered_peers.find(node_id); r != config_.remembered_peers.end()) {
    remembered = r->second;
  }
  auto p =
      std::make_unique<PeerReplica>(node_id, config_.receiver, counters_, observer_, remembered);
  PeerReplica* raw = p.get();
  peers_.emplace(node_id, std::move(p));
  was_up_[node_id] = false;
  return raw;
}

void SyncEngine::receive(std::string_view plaintext, TimePoint now) {
  sender_.set_clock(now);
  counters_.datagrams_received += 1;
  counters_.datagram_bytes_received += plaintext.size();
  // The flow messages are read from the bytes directly (core/packet_parts); the control
  // fields parse into an arena over a reused block, without allocation.
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = arena_block_.data();
  arena_options.initial_block_size = arena_block_.size();
  google::protobuf::Arena arena(arena_options);
  v1::Packet& p = *google::protobuf::Arena::CreateMessage<v1::Packet>(&arena);
  if (!split_packet(plaintext, parts_) || !p.ParseFromString(parts_.control) || p.node_id() == 0 ||
      p.boot_id() == 0 || p.seq() == 0) {
    counters_.drop(DropReason::malformed);
    return;
  }
  if (p.node_id() == config_.node_id) {
    counters_.drop(DropReason::own);
    return;
  }
  PeerReplica* peer = peer_for(p.node_id(), now);
  if (peer == nullptr) {
    counters_.drop(DropReason::no_peer_slot);
    return;
  }
  if (peer->check_boot(p.boot_id()) == PeerReplica::BootVerdict::replay) {
    counters_.drop(DropReason::replay);
    return;
  }
  const auto verdict = peer->check_datagram(p.seq());
  switch (verdict) {
    case ReplayWindow::Verdict::duplicate:
      counters_.drop(DropReason::duplicate);
      return;
    case ReplayWindow::Verdict::replay:
      counters_.drop(DropReason::replay);
      return;
    case ReplayWindow::Verdict::stale:
      counters_.drop(DropReason::stale);
      return;
    case ReplayWindow::Verdict::late:
      // Newer datagrams from this sender have been heard since: its heartbeat, nacks and
      // resync request are out of date, and a replay of a datagram we lost must not bring
      // them back. Only a stream packet we still lack is news (the stream puts it in order).
      if (p.stream_seq() == 0 || !peer->lacks_stream_packet(p.stream_seq())) {
        counters_.drop(DropReason::stale);
        return;
      }
      break;
    case ReplayWindow::Verdict::fresh:
      break;
  }
  const bool late = verdict == ReplayWindow::Verdict::late;
  if (!late) {
    peer->heard(now);
    peer->note_features(p.features());
  }
  if (!was_up_[p.node_id()]) {
    was_up_[p.node_id()] = true;
    sender_.peer_up(p.node_id(), now);
  }

  for (const auto& a : p.acks()) {
    counters_.received.add(MessageType::ack, a.ByteSizeLong());
    if (a.node_id() == config_.node_id && a.boot_id() == config_.boot_id) {
      sender_.on_ack(p.node_id(), a.stream_seq(), now);
    }
  }
  if (late) {  // acks only ever move forward: an old one changes nothing
    peer->on_stream_packet(ReceivedPacket{p, parts_, plaintext}, now);
    return;
  }
  for (const auto& n : p.nacks()) {
    counters_.received.add(MessageType::nack, n.ByteSizeLong());
    if (n.node_id() != config_.node_id || n.boot_id() != config_.boot_id) continue;
    for (const auto& r : n.missing()) sender_.on_nack(r.first(), r.last(), now);
  }
  if (p.has_resync()) {
    counters_.received.add(MessageType::resync_request, p.resync().ByteSizeLong());
    counters_.resync_requests_received += 1;
    const auto target = p.resync().target_node_id();
    if (target == 0 || target == config_.node_id) {
      std::optional<ReplicationSender::Requester> requester;
      if ((config_.features & v1::FEATURE_BOUND_BULKS) != 0) {
        requester = ReplicationSender::Requester{p.node_id(), p.boot_id()};
      }
      if (sender_.replicating()) {
        sender_.request_bulk(false, requester);
      } else if (p.resync().handover()) {
        sender_.request_bulk(true, requester);
      }
    }
  }
  std::optional<v1::Heartbeat> hb;
  if (p.has_heartbeat()) {
    counters_.received.add(MessageType::heartbeat, p.heartbeat().ByteSizeLong());
    hb = p.heartbeat();
  }
  if (p.stream_seq() != 0) peer->on_stream_packet(ReceivedPacket{p, parts_, plaintext}, now);
  // After the stream part, so a heartbeat riding on a stream packet does not report it missing.
  if (hb) peer->on_heartbeat(*hb, now);
}

void SyncEngine::update_liveness(TimePoint now) {
  for (auto& [id, p] : peers_) {
    const bool up = p->up(now, config_.peer_timeout);
    bool& was = was_up_[id];
    if (up != was) {
      was = up;
      if (up) {
        sender_.peer_up(id, now);
      } else {
        sender_.peer_down(id, now);
      }
    }
  }
}

bool SyncEngine::serviceable(const PeerReplica& p, TimePoint now) const {
  return p.up(now, config_.peer_timeout) && p.next_expected() != 0;
}

bool SyncEngine::heartbeat_due(TimePoint now) const {
  if (now >= next_heartbeat_at_) return true;
  return now - last_sent_at_ >= config_.tail_probe && sender_.awaiting_acks(now);
}

bool SyncEngine::control_due(TimePoint now) const {
  if (heartbeat_due(now) || broadcast_resync_) return true;
  if (handover_until_ && now < *handover_until_ && now >= next_handover_request_) return true;
  for (const auto& [id, p] : peers_) {
    if (!serviceable(*p, now)) continue;
    if (p->next_deadline() && *p->next_deadline() <= now) return true;
  }
  return false;
}

std::string SyncEngine::make_datagram(TimePoint now, const StreamPacket* stream,
                                      bool with_heartbeat, bool force_acks) {
  v1::Packet h;
  h.set_node_id(config_.node_id);
  h.set_boot_id(config_.boot_id);
  h.set_seq(next_seq_++);
  h.set_features(config_.features);
  std::size_t budget = config_.max_packet_bytes - (stream ? stream->body->size() : 0);
  const auto fits = [&](std::size_t extra) { return h.ByteSizeLong() + extra + 16 <= budget; };

  for (auto& [id, p] : peers_) {
    if (!serviceable(*p, now)) continue;
    if ((force_acks || p->ack_due(now)) && fits(32)) {
      auto* a = h.add_acks();
      a->set_node_id(id);
      a->set_boot_id(p->boot_id());
      a->set_stream_seq(p->ack_position());
      counters_.sent.add(MessageType::ack, a->ByteSizeLong());
      p->ack_sent();
    }
    if (fits(64)) {
      auto ranges = p->take_due_nacks(now);
      if (!ranges.empty()) {
        auto* n = h.add_nacks();
        n->set_node_id(id);
        n->set_boot_id(p->boot_id());
        for (const auto& [first, last] : ranges) {
          auto* r = n->add_missing();
          r->set_first(first);
          r->set_last(last);
        }
        counters_.sent.add(MessageType::nack, n->ByteSizeLong());
      }
    }
    if (p->resync_due(now) && !h.has_resync() && fits(8)) {
      h.mutable_resync()->set_target_node_id(id);
      p->resync_sent(now);
      counters_.sent.add(MessageType::resync_request, h.resync().ByteSizeLong());
    }
  }
  if (handover_until_ && now < *handover_until_ && now >= next_handover_request_ &&
      !h.has_resync()) {
    h.mutable_resync()->set_target_node_id(0);
    h.mutable_resync()->set_handover(true);
    next_handover_request_ = now + config_.receiver.resync_retry;
    counters_.resync_requests_sent += 1;
  }
  if (broadcast_resync_ && !h.has_resync()) {
    h.mutable_resync()->set_target_node_id(0);
    broadcast_resync_ = false;
    counters_.resync_requests_sent += 1;
    counters_.sent.add(MessageType::resync_request, h.resync().ByteSizeLong());
  }
  if (with_heartbeat) {
    auto* hb = h.mutable_heartbeat();
    hb->set_role(static_cast<v1::Role>(role_));
    hb->set_last_stream_seq(sender_.last_stream_seq());
    hb->set_window_start(sender_.window_start());
    hb->set_table_size(sender_.replicating() ? local_.size() : 0);
    hb->set_ready(ready(now));
    hb->set_interval_ms(static_cast<std::uint32_t>(
        std::chrono::duration_cast<milliseconds>(config_.heartbeat_interval).count()));
    counters_.sent.add(MessageType::heartbeat, hb->ByteSizeLong());
    next_heartbeat_at_ = now + config_.heartbeat_interval;
  }
  std::string out = h.SerializeAsString();
  if (stream) out += *stream->body;  // concatenated protobuf messages merge field by field
  last_sent_at_ = now;
  counters_.datagrams_sent += 1;
  counters_.datagram_bytes_sent += out.size();
  return out;
}

void SyncEngine::pad_to(std::string& datagram, std::size_t size) {
  // Packet.padding (field 16) with a two-byte length, so any gap of 4 bytes or more fits
  // exactly (protobuf reads the longer varint for a small length the same).
  if (datagram.size() + 4 > size) return;
  const std::size_t n = size - datagram.size() - 4;
  if (n >= (1u << 14)) return;
  datagram += static_cast<char>(0x82);  // field 16, length-delimited
  datagram += static_cast<char>(0x01);
  datagram += static_cast<char>(0x80 | (n & 0x7f));
  datagram += static_cast<char>(n >> 7);
  datagram.append(n, '\0');
  counters_.datagram_bytes_sent += n + 4;
}

void SyncEngine::poll(TimePoint now, std::vector<std::string>& out) {
  sender_.set_clock(now);
  update_liveness(now);
  retire_superseded_copies(now);
  if (now >= next_digest_at_) {
    next_digest_at_ = now + config_.digest_interval;
    if (sender_.replicating()) sender_.request_digest();
  }
  std::size_t budget = config_.max_datagrams_per_poll;
  if (sender_.has_pending() && !pending_since_) pending_since_ = now;
  const bool hold =
      pending_since_ && !sender_.worth_sending_now() && now - *pending_since_ < config_.batch_delay;
  while (budget > 0 && !hold) {
    const bool in_bulk = sender_.bulk_in_progress();
    auto sp = sender_.next_packet(now);
    if (!sp) break;
    out.push_back(make_datagram(now, &*sp, heartbeat_due(now), false));
    // A bulk's datagrams all at the largest size: the transport then sends dozens per system
    // call (UDP GSO takes equal segments). Only bulks: the live stream's bytes stay as few.
    if (in_bulk) pad_to(out.back(), config_.max_packet_bytes);
    --budget;
  }
  if (!sender_.has_pending()) pending_since_.reset();
  if (budget > 0 && control_due(now)) {
    const bool hb = heartbeat_due(now);
    out.push_back(make_datagram(now, nullptr, hb, hb));
  }
}

TimePoint SyncEngine::next_wakeup(TimePoint now) const {
  TimePoint t = next_heartbeat_at_;
  auto consider = [&t](TimePoint c) { t = std::min(t, c); };
  if (sender_.can_send(now)) {  // a full window waits for acks instead
    if (!pending_since_ || sender_.worth_sending_now()) {
      consider(now);
    } else {
      consider(*pending_since_ + config_.batch_delay);
    }
  }
  if (sender_.awaiting_acks(now)) consider(last_sent_at_ + config_.tail_probe);
  if (broadcast_resync_) consider(now);
  if (handover_until_ && now < *handover_until_) consider(std::max(now, next_handover_request_));
  for (const auto& [id, p] : peers_) {
    if (!serviceable(*p, now)) continue;
    if (auto d = p->next_deadline()) consider(*d);
    consider(p->last_heard() + config_.peer_timeout);
  }
  consider(next_digest_at_);
  return std::max(t, now);
}

SyncEngine::AtRisk SyncEngine::at_risk(TimePoint now) const {
  AtRisk r;
  r.changes = sender_.changes_at_risk();
  if (const auto t = sender_.oldest_change_at_risk(); t && r.changes != 0) r.oldest = now - *t;
  return r;
}

bool SyncEngine::legacy_peer_up(TimePoint now) const {
  return std::any_of(peers_.begin(), peers_.end(), [&](const auto& kv) {
    return (kv.second->features() & v1::FEATURE_DERIVED_SEALING) == 0 && peer_up(*kv.second, now);
  });
}

bool SyncEngine::ready(TimePoint now) const {
  return readiness_reason(now).empty();
}

std::string SyncEngine::readiness_reason(TimePoint now) const {
  if (role_ == Role::active) return {};
  bool heard_active = false;
  for (const auto& [id, p] : peers_) {
    if (!p->up(now, config_.peer_timeout) || p->role() != Role::active) continue;
    heard_active = true;
    if (p->full()) {
      return "the copy of active peer " + std::to_string(id) +
             " is full (sync.max_peer_flows / max_peer_expectations)";
    }
    if (!p->in_sync(now)) {
      const auto behind_ms = std::chrono::duration_cast<milliseconds>(p->behind(now)).count();
      return "not in sync with active peer " + std::to_string(id) +
             (p->complete() ? " (behind its announced stream for " + std::to_string(behind_ms) +
                                  " ms, sync.ready_max_lag_ms)"
              : p->awaiting_bound_bulk() ? " (waiting for a bulk made for this start)"
                                         : " (no complete bulk yet)");
    }
  }
  if (!heard_active && now - started_at_ < config_.peer_timeout) {
    return "starting: waiting to hear from peers";
  }
  return {};
}

}  // namespace ctsync

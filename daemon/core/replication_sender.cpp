#include "core/replication_sender.hpp"

#include <algorithm>

#include "core/expectation_codec.hpp"
#include "core/flow_wire.hpp"

#include <cstring>

namespace ctsync {

ReplicationSender::ReplicationSender(SenderConfig config, const LocalTable& table,
                                     const ExpectationTable& expectations,
                                     const TableDigest& digest, SyncCounters& counters)
    : config_(config),
      table_(table),
      expectations_(expectations),
      digest_(digest),
      counters_(counters) {}

void ReplicationSender::set_replicating(bool on) {
  if (on == replicating_) return;
  replicating_ = on;
  if (!on) {
    // Peers keep the last table we announced: it is the one a new active node commits.
    outbox_.clear();
    outbox_times_.clear();
    queued_.clear();
    expectation_outbox_.clear();
    expectation_outbox_times_.clear();
    in_flight_.clear();
    expectations_queued_.clear();
    bulk_.reset();
    bulk_again_ = false;
    next_requesters_.clear();
  }
}

void ReplicationSender::flow_changed(const FlowKey& key) {
  if (!replicating_) return;
  if (queued_.insert(key)) {
    outbox_.push_back(key);
    outbox_times_.push_back(clock_);
  }
}

void ReplicationSender::expectation_changed(const ExpectationKey& key) {
  if (!replicating_) return;
  if (expectations_queued_.insert(key).second) {
    expectation_outbox_.push_back(key);
    expectation_outbox_times_.push_back(clock_);
  }
}

void ReplicationSender::before_erase(std::size_t pos) {
  if (!bulk_) return;
  Bulk& b = *bulk_;
  const std::size_t last = table_.size() - 1;
  // An entry the walk has yet to reach, moving to a place it has passed.
  if (pos < b.cursor && last >= b.cursor && last < b.end) {
    b.moved.push_back(table_.key_at(last));
  }
}

void ReplicationSender::request_bulk(bool even_if_not_replicating,
                                     std::optional<Requester> requester) {
  handover_ = handover_ || even_if_not_replicating;
  if (!bulk_) {
    start_bulk();
  } else if (bulk_->begun) {
    bulk_again_ = true;  // the running bulk may already have passed flows a peer lacks
  }
  if (requester) {
    // Named in the bulk not yet begun: one whose BulkBegin is out was not made for it.
    auto& into = bulk_->begun ? next_requesters_ : bulk_->requesters;
    into[requester->node_id] = requester->boot_id;
  }
}

void ReplicationSender::start_bulk() {
  Bulk b;
  b.id = next_bulk_id_++;
  const bool include = replicating_ || handover_;
  handover_ = false;
  if (include) {
    b.end = table_.size();
    for (const auto& [key, e] : expectations_) b.expectation_keys.push_back(key);
  }
  b.takeover_done = takeover_done_;
  b.requesters = std::move(next_requesters_);
  next_requesters_.clear();
  bulk_ = std::move(b);
  counters_.bulks_started += 1;
}

void ReplicationSender::peer_up(std::uint32_t peer, TimePoint now) {
  auto [it, inserted] = peers_.try_emplace(peer);
  if (inserted) it->second.last_progress = now;
  in_flight_.peer_up(peer, last_stream_seq());
}

void ReplicationSender::peer_down(std::uint32_t peer, TimePoint now) {
  peers_.erase(peer);
  in_flight_.peer_down(peer, now);
}

std::uint64_t ReplicationSender::changes_at_risk() const {
  return outbox_.size() + expectation_outbox_.size() + in_flight_.at_risk();
}

std::optional<TimePoint> ReplicationSender::oldest_change_at_risk() const {
  std::optional<TimePoint> t = in_flight_.oldest_at_risk();
  for (const auto* q : {&outbox_times_, &expectation_outbox_times_}) {
    if (!q->empty() && (!t || q->front() < *t)) t = q->front();
  }
  return t;
}

void ReplicationSender::on_ack(std::uint32_t peer, std::uint64_t stream_seq, TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (stream_seq > it->second.acked) {
    it->second.acked = std::min(stream_seq, last_stream_seq());
    it->second.last_progress = now;
    in_flight_.acked(peer, it->second.acked, now);
    release_acked(now);
  }
}

void ReplicationSender::on_nack(std::uint64_t first, std::uint64_t last, TimePoint /*now*/) {
  first = std::max(first, window_start());
  last = std::min(last, last_stream_seq());
  // Bounded by the window: a nack can never make us queue more than we hold.
  for (std::uint64_t s = first; s <= last && resend_.size() < config_.window_packets; ++s) {
    resend_.push_back(s);
  }
}

std::uint64_t ReplicationSender::window_start() const {
  return window_.empty() ? next_stream_seq_ : window_.front().stream_seq;
}

void ReplicationSender::release_acked(TimePoint now) {
  if (window_.empty()) return;
  std::uint64_t floor = last_stream_seq();
  bool gated = false;
  for (const auto& [id, p] : peers_) {
    const bool lagging =
        p.acked < window_.front().stream_seq && now - p.last_progress > config_.lagging_after;
    if (lagging) continue;
    gated = true;
    floor = std::min(floor, p.acked);
  }
  // With nobody to wait for, the window stays as history: a peer that joins soon can still
  // fetch the start of the stream instead of asking for a bulk.
  if (!gated) return;
  while (!window_.empty() && window_.front().stream_seq <= floor) window_.pop_front();
}

bool ReplicationSender::window_full(TimePoint now) {
  if (window_.size() < config_.window_packets) return false;
  release_acked(now);
  if (window_.size() < config_.window_packets) return false;
  if (gating_peers(now) == 0) {
    window_.pop_front();  // history only: nobody is owed it
    return false;
  }
  return true;
}

std::size_t ReplicationSender::gating_peers(TimePoint now) const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_) {
    const bool lagging = !window_.empty() && p.acked < window_.front().stream_seq &&
                         now - p.last_progress > config_.lagging_after;
    if (!lagging) ++n;
  }
  return n;
}

bool ReplicationSender::awaiting_acks(TimePoint now) const {
  if (window_.empty()) return false;
  for (const auto& [id, p] : peers_) {
    const bool lagging =
        p.acked < window_.front().stream_seq && now - p.last_progress > config_.lagging_after;
    if (!lagging && p.acked < last_stream_seq()) return true;
  }
  return false;
}

bool ReplicationSender::can_send(TimePoint now) const {
  if (!resend_.empty()) return true;
  if (!has_pending()) return false;
  return window_.size() < config_.window_packets || gating_peers(now) == 0;
}

bool ReplicationSender::worth_sending_now() const {
  // About 36 bytes per queued change: an IPv4 TCP upsert with its field header.
  const std::size_t fill = std::max<std::size_t>(1, config_.max_body_bytes / 36);
  return !resend_.empty() || bulk_.has_value() || digest_wanted_ || outbox_.size() >= fill ||
         !expectation_outbox_.empty();
}

bool ReplicationSender::has_pending() const {
  return !outbox_.empty() || !expectation_outbox_.empty() || bulk_.has_value() || digest_wanted_ ||
         !resend_.empty();
}

std::optional<StreamPacket> ReplicationSender::next_packet(TimePoint now) {
  release_acked(now);
  while (!resend_.empty()) {
    const std::uint64_t s = resend_.front();
    resend_.pop_front();
    if (window_.empty() || s < window_.front().stream_seq || s > window_.back().stream_seq)
      continue;
    WindowEntry& e = window_[s - window_.front().stream_seq];
    if (now - e.last_sent < config_.resend_holdoff) continue;
    e.last_sent = now;
    counters_.retransmits += 1;
    return StreamPacket{e.stream_seq, &e.body};
  }
  if (!has_pending()) return std::nullopt;
  if (window_full(now)) {
    counters_.window_full += 1;
    return std::nullopt;
  }
  body_changes_.clear();
  auto body = build_body();
  if (!body) return std::nullopt;
  in_flight_.sent(next_stream_seq_, body_changes_);
  window_.push_back(WindowEntry{next_stream_seq_++, std::move(*body), now});
  return StreamPacket{window_.back().stream_seq, &window_.back().body};
}

bool ReplicationSender::put_expectation(std::string& body, const ExpectationKey& key,
                                        std::size_t limit, bool must_fit) {
  std::string m;
  std::uint32_t field;
  MessageType type;
  if (auto it = expectations_.find(key); it != expectations_.end()) {
    v1::ExpectationState s;
    encode_expectation(it->second.expectation, &s);
    s.SerializeToString(&m);
    field = v1::Packet::kExpectationUpsertsFieldNumber;
    type = MessageType::expectation_upsert;
  } else {
    v1::ExpectationKey k;
    encode_expectation_key(key, &k);
    k.SerializeToString(&m);
    field = v1::Packet::kExpectationDeletesFieldNumber;
    type = MessageType::expectation_delete;
  }
  if (body.size() + m.size() + 8 > limit && !must_fit) return false;
  wire::put_tag(body, field, wire::Type::bytes);
  wire::put_varint(body, m.size());
  body += m;
  counters_.sent.add(type, m.size());
  return true;
}

std::optional<std::string> ReplicationSender::build_body() {
  // Written field by field in protobuf wire format (core/flow_wire): a stream Packet's body.
  std::string body;
  body.reserve(config_.max_body_bytes + 512);
  wire::put_varint_field(body, v1::Packet::kStreamSeqFieldNumber, next_stream_seq_);
  const std::size_t limit = config_.max_body_bytes;
  bool any = false;
  auto small_message = [&body](std::uint32_t field, const std::string& m) {
    wire::put_tag(body, field, wire::Type::bytes);
    wire::put_varint(body, m.size());
    body += m;
    return m.size();
  };

  if (bulk_ && !bulk_->begun) {
    std::string m;
    wire::put_varint_field(m, v1::BulkBegin::kBulkIdFieldNumber, bulk_->id);
    if (bulk_->end != 0)
      wire::put_varint_field(m, v1::BulkBegin::kFlowCountFieldNumber, bulk_->end);
    if (!bulk_->expectation_keys.empty()) {
      wire::put_varint_field(m, v1::BulkBegin::kExpectationCountFieldNumber,
                             bulk_->expectation_keys.size());
    }
    if (bulk_->takeover_done) wire::put_varint_field(m, v1::BulkBegin::kTakeoverDoneFieldNumber, 1);
    for (const auto& [node, boot] : bulk_->requesters) {
      std::string r;
      wire::put_varint_field(r, v1::BulkRequester::kNodeIdFieldNumber, node);
      wire::put_varint_field(r, v1::BulkRequester::kBootIdFieldNumber, boot);
      wire::put_tag(m, v1::BulkBegin::kRequestedByFieldNumber, wire::Type::bytes);
      wire::put_varint(m, r.size());
      m += r;
    }
    counters_.sent.add(MessageType::bulk_begin,
                       small_message(v1::Packet::kBulkBeginFieldNumber, m));
    bulk_->begun = true;
    any = true;
  }

  // Live changes first: they are what a failover needs most. Receivers apply a packet's
  // flows before its expectations, so an expectation sharing a packet with its master's
  // upsert still finds the master first.
  while (!expectation_outbox_.empty()) {
    if (!put_expectation(body, expectation_outbox_.front(), limit, !any)) break;
    any = true;
    expectations_queued_.erase(expectation_outbox_.front());
    expectation_outbox_.pop_front();
    body_changes_.push_back(expectation_outbox_times_.front());
    expectation_outbox_times_.pop_front();
  }
  while (!outbox_.empty()) {
    const FlowKey& key = outbox_.front();
    const std::size_t mark = body.size();
    std::size_t n;
    MessageType type;
    if (const auto e = table_.find(key)) {
      n = wire::put_flow(body, v1::Packet::kUpsertsFieldNumber, e->flow);
      type = MessageType::flow_upsert;
    } else {
      n = wire::put_key(body, v1::Packet::kDeletesFieldNumber, key);
      type = MessageType::flow_delete;
    }
    if (body.size() > limit && any) {
      body.resize(mark);
      break;
    }
    counters_.sent.add(type, n);
    any = true;
    queued_.erase(key);
    outbox_.pop_front();
    body_changes_.push_back(outbox_times_.front());
    outbox_times_.pop_front();
  }

  bool closed = false;
  if (bulk_ && body.size() < limit) {
    Bulk& b = *bulk_;
    const auto& entries = table_.entries();
    auto put = [&](const Flow& flow) {
      const std::size_t mark = body.size();
      const std::size_t n = wire::put_flow(body, v1::Packet::kUpsertsFieldNumber, flow);
      if (body.size() > limit && any) {
        body.resize(mark);
        return false;
      }
      counters_.sent.add(MessageType::flow_upsert, n);
      any = true;
      ++b.sent;
      return true;
    };
    while (b.cursor < std::min(b.end, entries.size())) {
      if (!put(entries.flow_at(b.cursor))) break;
      ++b.cursor;
    }
    if (b.cursor >= std::min(b.end, entries.size())) b.cursor = b.end;
    while (b.cursor == b.end && !b.moved.empty()) {
      const auto e = table_.find(b.moved.back());
      if (e && !put(e->flow)) break;  // gone since: its delete is in the outbox
      b.moved.pop_back();
    }
    const bool flows_done = b.cursor == b.end && b.moved.empty();
    while (flows_done && b.expectation_cursor < b.expectation_keys.size()) {
      const ExpectationKey& key = b.expectation_keys[b.expectation_cursor];
      if (expectations_.count(key) == 0) {  // gone since; its delete travels the outbox
        ++b.expectation_cursor;
        continue;
      }
      if (!put_expectation(body, key, limit, !any)) break;
      any = true;
      ++b.expectation_cursor;
      ++b.expectations_sent;
    }
    if (flows_done && b.expectation_cursor == b.expectation_keys.size() &&
        body.size() + 24 <= limit) {
      std::string m;
      wire::put_varint_field(m, v1::BulkEnd::kBulkIdFieldNumber, b.id);
      if (b.sent != 0) wire::put_varint_field(m, v1::BulkEnd::kFlowsSentFieldNumber, b.sent);
      if (b.expectations_sent != 0)
        wire::put_varint_field(m, v1::BulkEnd::kExpectationsSentFieldNumber, b.expectations_sent);
      counters_.sent.add(MessageType::bulk_end, small_message(v1::Packet::kBulkEndFieldNumber, m));
      any = true;
      closed = true;  // never two bulks' markers in one packet
      bulk_.reset();
      if (bulk_again_) {
        bulk_again_ = false;
        start_bulk();
      }
    }
  }

  if (!closed && digest_wanted_ && outbox_.empty() && !bulk_ && body.size() + 40 <= limit) {
    std::string m;
    if (replicating_ && digest_.count != 0) {
      wire::put_varint_field(m, 1, digest_.count);  // TableDigest.flow_count
      wire::put_tag(m, 2, wire::Type::fixed64);     // TableDigest.flow_xor
      char x[8];
      std::memcpy(x, &digest_.xor_hash, 8);
      m.append(x, 8);
    }
    counters_.sent.add(MessageType::digest, small_message(v1::Packet::kDigestFieldNumber, m));
    digest_wanted_ = false;
    any = true;
  }

  if (!any) return std::nullopt;
  return body;
}

}  // namespace ctsync

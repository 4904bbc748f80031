#include "core/changes_in_flight.hpp"

#include <algorithm>

namespace ctsync {

void ChangesInFlight::sent(std::uint64_t seq, const std::vector<TimePoint>& made_at) {
  if (made_at.empty() || peers_.empty()) return;  // with no peer known, nobody is owed it
  packets_.push_back(Packet{seq, made_at, *std::min_element(made_at.begin(), made_at.end())});
  while (packets_.size() > max_packets_) {
    const Packet& p = packets_.front();
    folded_.oldest = folded_.changes == 0 ? p.oldest : std::min(folded_.oldest, p.oldest);
    folded_.changes += p.made_at.size();
    folded_.last_seq = p.seq;
    unmeasured_ += p.made_at.size();
    all_up_observed_ = std::max(all_up_observed_, p.seq);
    packets_.pop_front();
  }
}

void ChangesInFlight::peer_up(std::uint32_t peer, std::uint64_t last_sent) {
  auto [it, inserted] = peers_.try_emplace(peer, Owed{last_sent, true});
  it->second.up = true;  // back: it resumes acknowledging from where it was
  per_peer_.try_emplace(peer);
}

void ChangesInFlight::peer_down(std::uint32_t peer, TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.up = false;  // still owed: it may be the node that takes over
  settle(now);
}

void ChangesInFlight::acked(std::uint32_t peer, std::uint64_t seq, TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || seq <= it->second.acked) return;
  LatencyHistogram& h = per_peer_[peer];
  auto p = std::upper_bound(packets_.begin(), packets_.end(), it->second.acked,
                            [](std::uint64_t s, const Packet& q) { return s < q.seq; });
  for (; p != packets_.end() && p->seq <= seq; ++p) {
    for (const TimePoint t : p->made_at) h.observe(now - t);
  }
  it->second.acked = seq;
  settle(now);
}

std::uint64_t ChangesInFlight::best() const {
  std::uint64_t b = 0;
  for (const auto& [peer, o] : peers_) b = std::max(b, o.acked);
  return b;
}

void ChangesInFlight::settle(TimePoint now) {
  // Every up peer has what is at or below the lowest of their acks: the all-peers latency.
  std::uint64_t up_floor = UINT64_MAX, all_floor = UINT64_MAX;
  for (const auto& [peer, o] : peers_) {
    all_floor = std::min(all_floor, o.acked);
    if (o.up) up_floor = std::min(up_floor, o.acked);
  }
  if (up_floor != UINT64_MAX && up_floor > all_up_observed_) {
    auto p = std::upper_bound(packets_.begin(), packets_.end(), all_up_observed_,
                              [](std::uint64_t s, const Packet& q) { return s < q.seq; });
    for (; p != packets_.end() && p->seq <= up_floor; ++p) {
      for (const TimePoint t : p->made_at) all_peers_.observe(now - t);
    }
    all_up_observed_ = up_floor;
  }
  // Kept until every peer, down ones too, has acknowledged it.
  if (folded_.changes != 0 && folded_.last_seq <= all_floor) folded_ = Folded{};
  while (!packets_.empty() && packets_.front().seq <= all_floor) packets_.pop_front();
}

void ChangesInFlight::clear() {
  packets_.clear();
  folded_ = Folded{};
}

std::uint64_t ChangesInFlight::at_risk() const {
  const std::uint64_t b = best();
  std::uint64_t n = folded_.last_seq > b ? folded_.changes : 0;
  for (auto p = packets_.rbegin(); p != packets_.rend() && p->seq > b; ++p) n += p->made_at.size();
  return n;
}

std::optional<TimePoint> ChangesInFlight::oldest_at_risk() const {
  const std::uint64_t b = best();
  std::optional<TimePoint> t;
  if (folded_.changes != 0 && folded_.last_seq > b) t = folded_.oldest;
  for (auto p = packets_.rbegin(); p != packets_.rend() && p->seq > b; ++p) {
    if (!t || p->oldest < *t) t = p->oldest;
  }
  return t;
}

}  // namespace ctsync

#include "core/changes_in_flight.hpp"

#include <algorithm>

namespace ctsync {

void ChangesInFlight::sent(std::uint64_t seq, const std::vector<TimePoint>& made_at) {
  if (made_at.empty() || acked_.empty()) return;  // with no peer up, nobody is owed it
  packets_.push_back(Packet{seq, made_at, *std::min_element(made_at.begin(), made_at.end())});
  unacked_ += made_at.size();
  while (packets_.size() > max_packets_) {
    Packet& p = packets_.front();
    folded_.oldest = folded_.changes == 0 ? p.oldest : std::min(folded_.oldest, p.oldest);
    folded_.changes += p.made_at.size();
    folded_.last_seq = p.seq;
    unacked_ -= p.made_at.size();
    unmeasured_ += p.made_at.size();
    packets_.pop_front();
  }
}

void ChangesInFlight::peer_up(std::uint32_t peer, std::uint64_t last_sent) {
  acked_.try_emplace(peer, last_sent);
  per_peer_.try_emplace(peer);
}

void ChangesInFlight::peer_down(std::uint32_t peer, TimePoint now) {
  if (acked_.erase(peer) != 0) release(now);
}

void ChangesInFlight::acked(std::uint32_t peer, std::uint64_t seq, TimePoint now) {
  auto it = acked_.find(peer);
  if (it == acked_.end() || seq <= it->second) return;
  LatencyHistogram& h = per_peer_[peer];
  auto p = std::upper_bound(packets_.begin(), packets_.end(), it->second,
                            [](std::uint64_t s, const Packet& q) { return s < q.seq; });
  for (; p != packets_.end() && p->seq <= seq; ++p) {
    for (const TimePoint t : p->made_at) h.observe(now - t);
  }
  it->second = seq;
  release(now);
}

std::uint64_t ChangesInFlight::floor() const {
  std::uint64_t f = UINT64_MAX;
  for (const auto& [peer, seq] : acked_) f = std::min(f, seq);
  return f;
}

void ChangesInFlight::release(TimePoint now) {
  if (acked_.empty()) {
    // The last up peer went: no one is owed these any more, and no one has them.
    unmeasured_ += unacked();
    clear();
    return;
  }
  const std::uint64_t f = floor();
  if (folded_.changes != 0 && folded_.last_seq <= f) folded_ = Folded{};
  while (!packets_.empty() && packets_.front().seq <= f) {
    for (const TimePoint t : packets_.front().made_at) all_peers_.observe(now - t);
    unacked_ -= packets_.front().made_at.size();
    packets_.pop_front();
  }
}

void ChangesInFlight::clear() {
  packets_.clear();
  unacked_ = 0;
  folded_ = Folded{};
}

std::optional<TimePoint> ChangesInFlight::oldest() const {
  std::optional<TimePoint> t;
  if (folded_.changes != 0) t = folded_.oldest;
  for (const Packet& p : packets_) {
    if (!t || p.oldest < *t) t = p.oldest;
  }
  return t;
}

}  // namespace ctsync

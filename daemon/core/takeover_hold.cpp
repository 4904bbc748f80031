#include "core/takeover_hold.hpp"

#include <algorithm>

namespace ctsync {

TakeoverHold::Decision TakeoverHold::on_packet(std::uint32_t id, const FlowKey* peer_flow,
                                               bool in_kernel, TimePoint now) {
  ++counters_.seen;
  if (peer_flow == nullptr || in_kernel || written_.count(*peer_flow) != 0) {
    ++counters_.passed;
    return {};
  }
  if (held_.size() >= settings_.max_held) {
    // Never worse than without the hold: the packet meets conntrack as it would have.
    ++counters_.overflow;
    return {};
  }
  ++counters_.held;
  if (!first_held_) first_held_ = now;
  held_.emplace(id, Held{*peer_flow, now});
  arrival_.emplace_back(now, id);
  auto [it, first] = waiting_.try_emplace(*peer_flow);
  it->second.push_back(id);
  return {Verdict::hold, first};
}

std::uint32_t TakeoverHold::let_go(std::map<std::uint32_t, Held>::iterator it, TimePoint now) {
  counters_.longest_hold = std::max(counters_.longest_hold, now - it->second.since);
  const std::uint32_t id = it->first;
  held_.erase(it);
  return id;
}

std::vector<std::uint32_t> TakeoverHold::written(const FlowKey& key, bool ok, bool promoted,
                                                 TimePoint now) {
  // A failed write is not retried packet by packet: the flow's packets meet conntrack as
  // they would have without the hold.
  written_.try_emplace(key, ok);
  if (ok) {
    ++counters_.flows_written;
    if (!promoted) early_.emplace_back(now, key);
  } else {
    ++counters_.write_failures;
  }
  std::vector<std::uint32_t> ids;
  auto w = waiting_.find(key);
  if (w == waiting_.end()) return ids;
  for (const std::uint32_t id : w->second) {
    if (auto it = held_.find(id); it != held_.end()) {
      ids.push_back(let_go(it, now));
      ++counters_.released;
    }
  }
  waiting_.erase(w);
  while (!arrival_.empty() && held_.count(arrival_.front().second) == 0) arrival_.pop_front();
  return ids;
}

std::vector<std::uint32_t> TakeoverHold::expire(TimePoint now) {
  std::vector<std::uint32_t> ids;
  while (!arrival_.empty() && arrival_.front().first + settings_.max_hold <= now) {
    if (auto it = held_.find(arrival_.front().second); it != held_.end()) {
      ids.push_back(let_go(it, now));
      ++counters_.released_late;
    }
    arrival_.pop_front();
  }
  return ids;
}

std::vector<std::uint32_t> TakeoverHold::release_all(TimePoint now) {
  std::vector<std::uint32_t> ids;
  while (!held_.empty()) {
    ids.push_back(let_go(held_.begin(), now));
    ++counters_.released_late;
  }
  waiting_.clear();
  arrival_.clear();
  return ids;
}

std::optional<TimePoint> TakeoverHold::next_deadline() const {
  std::optional<TimePoint> d;
  // Ids let go may linger behind the front of arrival_; an early deadline costs a wake-up.
  if (!arrival_.empty()) d = arrival_.front().first + settings_.max_hold;
  if (!early_.empty()) {
    const TimePoint e = early_.front().first + settings_.early_write_life;
    d = d ? std::min(*d, e) : e;
  }
  return d;
}

std::vector<FlowKey> TakeoverHold::take_stale_early_writes(TimePoint now) {
  std::vector<FlowKey> keys;
  while (!early_.empty() && early_.front().first + settings_.early_write_life <= now) {
    keys.push_back(early_.front().second);
    // Written again by a later takeover if its packets come back.
    written_.erase(early_.front().second);
    early_.pop_front();
  }
  return keys;
}

void TakeoverHold::reset() {
  written_.clear();
  early_.clear();
  first_held_.reset();
}

}  // namespace ctsync

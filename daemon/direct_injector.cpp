#include "direct_injector.hpp"

#include <boost/asio/post.hpp>
#include <span>

namespace ctsync {

namespace {
// Entries whose timeout is longer are refreshed by the active node's own events in time.
constexpr std::uint32_t refresh_limit_s = 3600;
}  // namespace

DirectInjector::DirectInjector(boost::asio::io_context& io, ConntrackWriter& writer,
                               std::size_t batch, Duration refresh_tick)
    : io_(io),
      writer_(writer),
      batch_(batch),
      tick_(refresh_tick),
      timer_(io),
      epoch_(Clock::now()) {}

void DirectInjector::set_enabled(bool on) {
  if (on == enabled_) return;
  enabled_ = on;
  if (!on) {
    pending_.clear();
    order_.clear();
    due_.clear();
    timer_.cancel();
  } else {
    on_tick();
  }
}

void DirectInjector::peer_flow_upserted(std::uint32_t peer, const Flow& flow) {
  if (!enabled_) return;
  const Key k{peer, flow.key};
  auto [it, inserted] = pending_.try_emplace(k, true);
  it->second = true;
  if (inserted) order_.push_back(k);
  schedule_flush();
}

void DirectInjector::peer_flow_erased(std::uint32_t peer, const Flow& flow) {
  if (!enabled_) return;
  const Key k{peer, flow.key};
  auto [it, inserted] = pending_.try_emplace(k, false);
  it->second = false;
  if (inserted) order_.push_back(k);
  failed_.erase(k);
  schedule_flush();
}

void DirectInjector::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(io_, [this] {
    flush_posted_ = false;
    flush();
  });
}

void DirectInjector::flush() {
  while (!order_.empty() && enabled_) {
    std::vector<Flow> upserts;
    std::vector<Key> upsert_keys;
    std::vector<FlowKey> removals;
    while (!order_.empty() && upserts.size() + removals.size() < batch_) {
      const Key k = order_.front();
      order_.pop_front();
      auto it = pending_.find(k);
      if (it == pending_.end()) continue;
      const bool upsert = it->second;
      pending_.erase(it);
      const Flow* f = upsert && lookup_ ? lookup_(k.peer, k.key) : nullptr;
      if (f != nullptr) {
        upserts.push_back(*f);
        upsert_keys.push_back(k);
      } else {
        removals.push_back(k.key);
      }
    }
    std::vector<WriteResult> results;
    if (auto r = writer_.upsert(upserts, results); !r) {
      results.assign(upserts.size(), WriteResult{WriteOutcome::failed, r.error().code});
    }
    for (std::size_t i = 0; i < upserts.size(); ++i) {
      if (results[i].outcome == WriteOutcome::failed) {
        ++stats_.failed;
        ++stats_.failures[results[i].error];
        failed_[upsert_keys[i]] = results[i].error;
      } else {
        ++stats_.injected;
        failed_.erase(upsert_keys[i]);
        schedule_refresh(upsert_keys[i], upserts[i].timeout);
      }
    }
    std::vector<int> errors;
    if (!removals.empty() && writer_.remove(removals, errors)) stats_.removed += removals.size();
    // Hand the loop back between batches when a bulk brought many at once.
    if (!order_.empty()) {
      schedule_flush();
      return;
    }
  }
}

std::vector<std::pair<std::uint32_t, FlowKey>> DirectInjector::take_failed() {
  std::vector<std::pair<std::uint32_t, FlowKey>> out;
  for (const auto& [k, err] : failed_) out.emplace_back(k.peer, k.key);
  failed_.clear();
  return out;
}

void DirectInjector::schedule_refresh(const Key& k, std::uint32_t timeout) {
  if (timeout > refresh_limit_s) return;
  const auto now_s = std::chrono::duration_cast<seconds>(Clock::now() - epoch_).count();
  // Due well before the entry could expire, even if the next tick comes a whole tick late.
  const auto tick_s = std::chrono::duration_cast<seconds>(tick_).count();
  due_[now_s + std::max<std::int64_t>(1, (static_cast<std::int64_t>(timeout) - tick_s) / 2)]
      .push_back(k);
}

void DirectInjector::on_tick() {
  if (!enabled_) return;
  const auto now_s = std::chrono::duration_cast<seconds>(Clock::now() - epoch_).count();
  std::vector<Flow> refresh;
  std::vector<Key> keys;
  while (!due_.empty() && due_.begin()->first <= now_s) {
    for (const Key& k : due_.begin()->second) {
      const Flow* f = lookup_ ? lookup_(k.peer, k.key) : nullptr;
      if (f != nullptr && pending_.count(k) == 0) {
        refresh.push_back(*f);
        keys.push_back(k);
      }
    }
    due_.erase(due_.begin());
  }
  for (std::size_t i = 0; i < refresh.size(); i += batch_) {
    const std::size_t n = std::min(batch_, refresh.size() - i);
    std::vector<WriteResult> results;
    const std::span<const Flow> part(refresh.data() + i, n);
    if (!writer_.upsert(part, results)) continue;
    for (std::size_t j = 0; j < n; ++j) {
      if (results[j].outcome != WriteOutcome::failed) {
        ++stats_.refreshed;
        schedule_refresh(keys[i + j], refresh[i + j].timeout);
      }
    }
  }
  timer_.expires_after(tick_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

}  // namespace ctsync

#include "app/direct_injector.hpp"

#include "app/kernel_write_job.hpp"

namespace ctsync::app {

DirectInjector::DirectInjector(ports::Scheduler& loop, ports::KernelPort& kernel, std::size_t batch,
                               Duration refresh_tick)
    : loop_(loop),
      kernel_(kernel),
      batch_(batch),
      timer_(loop.timer()),
      refresh_(refresh_tick, loop.now()) {}

void DirectInjector::read_copies_of(const SyncEngine& engine) {
  set_lookup([&engine](std::uint32_t peer, const FlowKey& key) -> std::optional<Flow> {
    auto it = engine.peers().find(peer);
    if (it == engine.peers().end()) return std::nullopt;
    return it->second->table().find_flow(key);
  });
  set_other_holder([&engine](std::uint32_t except, const FlowKey& key) -> std::uint32_t {
    for (const auto& [id, p] : engine.peers()) {
      if (id != except && p->table().position(key) != PeerTable::npos) return id;
    }
    return 0;
  });
}

void DirectInjector::set_enabled(bool on) {
  if (on == enabled_) return;
  enabled_ = on;
  ever_enabled_ = ever_enabled_ || on;
  if (!on) {
    pending_.clear();
    order_.clear();
    refresh_.clear();
    timer_->cancel();
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
  loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
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
      Key source = k;
      std::optional<Flow> f = upsert && lookup_ ? lookup_(k.peer, k.key) : std::nullopt;
      if (!f && other_holder_ && lookup_) {
        if (const std::uint32_t other = other_holder_(k.peer, k.key); other != 0) {
          source = Key{other, k.key};
          f = lookup_(other, k.key);
        }
      }
      if (f) {
        upserts.push_back(*f);
        upsert_keys.push_back(source);
      } else {
        removals.push_back(k.key);
      }
    }
    write_batch(kernel_, KernelWriteJob::Mode::upsert, upserts, results_, errors_);
    const TimePoint now = loop_.now();
    for (std::size_t i = 0; i < upserts.size(); ++i) {
      if (results_[i].outcome == WriteOutcome::failed) {
        ++stats_.failed;
        ++stats_.failures[results_[i].error];
        failed_[upsert_keys[i]] = results_[i].error;
      } else {
        ++stats_.injected;
        failed_.erase(upsert_keys[i]);
        refresh_.plan(upsert_keys[i], upserts[i].timeout, now);
      }
    }
    std::vector<int> errors;
    if (!removals.empty() && kernel_.remove(removals, errors)) stats_.removed += removals.size();
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

void DirectInjector::on_tick() {
  if (!enabled_) return;
  const TimePoint now = loop_.now();
  std::vector<Key> due;
  refresh_.take_due(now, due);
  std::vector<Flow> refresh;
  std::vector<Key> keys;
  for (const Key& k : due) {
    const std::optional<Flow> f = lookup_ ? lookup_(k.peer, k.key) : std::nullopt;
    if (f && pending_.count(k) == 0) {
      refresh.push_back(*f);
      keys.push_back(k);
    }
  }
  for (std::size_t i = 0; i < refresh.size(); i += batch_) {
    const std::size_t n = std::min(batch_, refresh.size() - i);
    write_batch(kernel_, KernelWriteJob::Mode::upsert, std::span<const Flow>(refresh.data() + i, n),
                results_, errors_);
    for (std::size_t j = 0; j < n; ++j) {
      if (results_[j].outcome != WriteOutcome::failed) {
        ++stats_.refreshed;
        refresh_.plan(keys[i + j], refresh[i + j].timeout, now);
      }
    }
  }
  timer_->start(refresh_.tick(), [this] { on_tick(); });
}

}  // namespace ctsync::app

#include "app/kernel_mirror.hpp"

#include "app/kernel_write_job.hpp"
#include "ctsync/flow_format.hpp"
#include "log/log.hpp"

namespace ctsync::app {

namespace {
constexpr Duration master_reread_delay = std::chrono::milliseconds(20);
}

KernelMirror::KernelMirror(ports::KernelPort& kernel, ports::Scheduler& loop, SyncEngine& engine,
                           ports::SyncLink& link, KernelCounters& counters)
    : kernel_(kernel),
      loop_(loop),
      engine_(engine),
      link_(link),
      counters_(counters),
      reread_timer_(loop.timer()) {}

KernelMirror::~KernelMirror() = default;

void KernelMirror::start() {
  accounting_ = kernel_.counts_traffic();
  kernel_.subscribe(*this, kernel_.synchronises_expectations() ? this : nullptr);
}

// ---- events ----

void KernelMirror::on_event(ports::EventType type, const Flow& flow, std::uint16_t present,
                            const FlowCounters& counters) {
  engine_.note_time(loop_.now());
  switch (type) {
    case ports::EventType::created:
      ++counters_.events_new;
      break;
    case ports::EventType::updated:
      ++counters_.events_update;
      break;
    case ports::EventType::destroyed:
      ++counters_.events_destroy;
      break;
  }
  const auto known = engine_.local().find(flow.key);
  const bool has_counters = (present & field::counters) != 0;
  const FlowCounters before = known ? engine_.counters_of(known->meta) : FlowCounters{};
  if (type == ports::EventType::destroyed) {
    // The final counters: whatever grew since the last periodic dump counted them.
    if (accounting_ && has_counters && (known || !filter_.ignored(flow)))
      traffic_.count(flow, counters, known ? &before : nullptr);
    engine_.local_erase(flow.key);
    return;
  }
  Flow merged = known ? known->flow : Flow{};
  merge_fields(merged, flow, present);
  if (filter_.ignored(merged)) {
    ++counters_.events_ignored;
    if (known) engine_.local_erase(flow.key);  // it became ignorable (state, mark)
    return;
  }
  // Growth is counted wherever counters are seen, so storing them never loses any.
  if (accounting_ && has_counters) traffic_.count(merged, counters, known ? &before : nullptr);
  engine_.local_upsert(merged, has_counters ? &counters : nullptr);
}

void KernelMirror::on_overrun() {
  ++counters_.overruns;
  log::warning("netlink event overrun: events were lost; queued events discarded, buffer now " +
               std::to_string(kernel_.event_buffer_bytes()) + " bytes; resyncing from a dump");
  pass();
}

// ---- passes ----

void KernelMirror::pass(std::function<void()> then) {
  local_wanted_ = true;
  if (then) local_waiters_.push_back(std::move(then));
  if (current_ == Pass::none) next_pass();
}

void KernelMirror::purge(PurgePlan plan, std::function<void(const WriteReport&)> done) {
  purges_.push_back({plan, std::move(done)});
  if (current_ == Pass::none) next_pass();
}

void KernelMirror::next_pass() {
  if (local_wanted_) {
    local_wanted_ = false;
    running_waiters_ = std::move(local_waiters_);
    local_waiters_.clear();
    current_ = Pass::local;
    engine_.begin_local_pass();
    kernel_.dump(*this);
    return;
  }
  if (!purges_.empty()) {
    purge_ = std::move(purges_.front());
    purges_.pop_front();
    purge_report_ = WriteReport{};
    purge_chunk_.clear();
    current_ = Pass::purge;
    kernel_.dump(*this);
  }
}

void KernelMirror::on_flow(const Flow& f, const FlowCounters& c) {
  if (current_ == Pass::purge) {
    if (filter_.ignored(f)) return;
    if (auto w = purge_write(purge_.plan, f, engine_.local().find_meta(f.key)))
      purge_chunk_.push_back(std::move(*w));
    return;
  }
  if (filter_.ignored(f)) return;
  if (accounting_) {
    const LocalMeta* known = engine_.local().find_meta(f.key);
    const FlowCounters before = known ? engine_.counters_of(*known) : FlowCounters{};
    traffic_.count(f, c, known ? &before : nullptr);
  }
  engine_.local_refresh(f, c);
}

void KernelMirror::write_purge_chunk() {
  for (std::size_t i = 0; i < purge_chunk_.size(); i += batch_) {
    const std::size_t n = std::min(batch_, purge_chunk_.size() - i);
    write_batch(kernel_, KernelWriteJob::Mode::update,
                std::span<const Flow>(purge_chunk_.data() + i, n), results_, errors_);
    for (const auto& r : results_) purge_report_.add(r);
  }
  purge_chunk_.clear();
}

void KernelMirror::on_chunk_end() {
  if (current_ == Pass::purge) write_purge_chunk();
  link_.kick();
}

void KernelMirror::on_dump_end(Result<void> outcome) {
  const Pass finished = current_;
  current_ = Pass::none;
  if (finished == Pass::purge) {
    write_purge_chunk();
    if (!outcome) log::error("purge: kernel dump failed: " + outcome.error().message);
    ++counters_.purges;
    auto done = std::move(purge_.done);
    const WriteReport report = purge_report_;  // a purge queued behind starts afresh
    next_pass();
    if (done) done(report);
    return;
  }
  if (outcome) {
    counters_.flows_swept += engine_.end_local_pass();
  } else {
    log::error("kernel dump failed: " + outcome.error().message);
  }
  ++counters_.resyncs;
  link_.kick();
  auto waiters = std::move(running_waiters_);
  running_waiters_.clear();
  next_pass();
  for (auto& w : waiters) w();
}

// ---- expectations ----

void KernelMirror::on_expectation(bool created, const Expectation& e) {
  engine_.note_time(loop_.now());
  if (created) {
    ++counters_.expectation_events_new;
    engine_.local_expectation_upsert(e);
    reread_master_soon(e.master);
  } else {
    ++counters_.expectation_events_destroy;
    engine_.local_expectation_erase(e.key());
  }
  link_.kick();
}

void KernelMirror::on_expectation_overrun() {
  ++counters_.expectation_overruns;
  log::warning("netlink overrun on expectation events; reading the table again");
  reload_expectations();
  link_.kick();
}

void KernelMirror::reload_expectations() {
  if (!kernel_.synchronises_expectations()) return;
  auto all = kernel_.dump_expectations();
  if (!all) {
    log::error("expectation dump failed: " + all.error().message);
    return;
  }
  engine_.replace_local_expectations(*all);
}

// A NAT helper that announces an expectation often rewrites the packet too (PORT, EPRT),
// which shifts the master's sequence numbers; the kernel sends no event for that, so the
// master is read back once the packet has been through.
void KernelMirror::reread_master_soon(const FlowKey& master) {
  const bool idle = rereads_.empty();
  rereads_.emplace_back(loop_.now() + master_reread_delay, master);
  if (idle) reread_timer_->start(master_reread_delay, [this] { reread_due(); });
}

void KernelMirror::reread_due() {
  const TimePoint now = loop_.now();
  while (!rereads_.empty() && rereads_.front().first <= now) {
    const FlowKey master = rereads_.front().second;
    rereads_.pop_front();
    const auto known = engine_.local().find_flow(master);
    if (!known) continue;
    auto fresh = kernel_.get(master);
    if (!fresh) {
      log::debug("reading back " + to_string(master.original) + ": " + fresh.error().message);
      continue;
    }
    if (!*fresh) continue;
    Flow merged = *known;
    merge_fields(merged, **fresh, field::status | field::seq_adjust);
    engine_.local_upsert(merged);
  }
  link_.kick();
  if (!rereads_.empty())
    reread_timer_->start(rereads_.front().first - now, [this] { reread_due(); });
}

}  // namespace ctsync::app

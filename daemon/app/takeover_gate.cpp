#include "app/takeover_gate.hpp"

#include <cstring>

#include "app/kernel_write_job.hpp"
#include "core/packet_tuple.hpp"
#include "log/log.hpp"

namespace ctsync::app {

TakeoverGate::TakeoverGate(ports::PacketQueuePort* queue, ports::KernelPort& kernel,
                           ports::Scheduler& loop, SyncEngine& engine, HoldSettings settings,
                           std::uint32_t purge_timeout)
    : queue_(queue),
      kernel_(kernel),
      loop_(loop),
      engine_(engine),
      hold_(settings),
      purge_timeout_(purge_timeout),
      timer_(loop.timer()) {}

TakeoverGate::~TakeoverGate() = default;

void TakeoverGate::apply(const HoldSettings& s, std::uint32_t purge_timeout) {
  hold_.set_settings(s);
  purge_timeout_ = purge_timeout;
}

void TakeoverGate::open() {
  if (queue_ == nullptr || queue_->listening()) return;
  if (auto r = queue_->listen(*this); !r) {
    // Fail-open: the takeover works as it would without the hold.
    log::error("takeover hold: cannot listen on " + queue_->describe() + ": " + r.error().message);
    return;
  }
  log::info("takeover hold: listening on " + queue_->describe());
  arm();
}

void TakeoverGate::close() {
  if (queue_ == nullptr || !queue_->listening()) return;
  release(hold_.release_all(loop_.now()));
  queue_->stop();
  log::info("takeover hold: " + queue_->describe() + " closed; " +
            std::to_string(hold_.counters().flows_written) + " flows written on demand");
  arm();  // early writes still age while the queue is closed
}

std::pair<std::uint32_t, std::optional<Flow>> TakeoverGate::peer_flow(const Tuple& t) const {
  // Before conntrack, a packet's zone is not known: flows of zone 0 only.
  const FlowKey key{0, t};
  for (const auto& [id, p] : engine_.peers()) {
    if (auto f = p->table().find_flow(key)) return {id, std::move(f)};
    if (auto e = p->table().find_by_reply(0, t)) return {id, std::move(e->flow)};
  }
  return {0, std::nullopt};
}

std::optional<Flow> TakeoverGate::peer_flow(const FlowKey& key) const {
  for (const auto& [id, p] : engine_.peers()) {
    if (auto f = p->table().find_flow(key)) return f;
  }
  return std::nullopt;
}

void TakeoverGate::on_packet(std::uint32_t id, std::span<const std::uint8_t> packet) {
  const TimePoint now = loop_.now();
  const auto tuple = packet_tuple(packet);
  const auto [peer, flow] =
      tuple ? peer_flow(*tuple) : std::pair<std::uint32_t, std::optional<Flow>>{};
  const bool in_kernel = flow && (engine_.local().position(flow->key) != LocalTable::npos ||
                                  (in_kernel_ && in_kernel_(peer, flow->key)));
  const auto d = hold_.on_packet(id, flow ? &flow->key : nullptr, in_kernel, now);
  if (d.verdict == TakeoverHold::Verdict::pass) {
    queue_->accept(id);
    return;
  }
  if (d.write) to_write_.push_back(*flow);
}

void TakeoverGate::on_packets_read() {
  const TimePoint now = loop_.now();
  if (!to_write_.empty()) {
    // In arrival order, in one batch: the flows whose packets wait go in ahead of the rest
    // of any commit that runs.
    write_batch(kernel_, KernelWriteJob::Mode::upsert, to_write_, results_, errors_);
    const bool promoted_now = engine_.role() == Role::active;
    for (std::size_t i = 0; i < to_write_.size(); ++i) {
      const bool ok = results_[i].outcome != WriteOutcome::failed;
      if (!ok) {
        log::warning("takeover hold: cannot write a held flow: " +
                     std::string(std::strerror(results_[i].error)));
      }
      release(hold_.written(to_write_[i].key, ok, promoted_now, now));
    }
    to_write_.clear();
  }
  release(hold_.expire(now));
  if (auto r = queue_->flush(); !r) log::warning("takeover hold: " + r.error().message);
  arm();
}

void TakeoverGate::release(const std::vector<std::uint32_t>& ids) {
  for (const std::uint32_t id : ids) queue_->accept(id);
}

void TakeoverGate::arm() {
  const auto d = hold_.next_deadline();
  if (!d) {
    timer_->cancel();
    return;
  }
  const TimePoint now = loop_.now();
  timer_->start(*d > now ? *d - now : Duration::zero(), [this] { on_deadline(); });
}

void TakeoverGate::on_deadline() {
  const TimePoint now = loop_.now();
  if (listening()) {
    release(hold_.expire(now));
    if (auto r = queue_->flush(); !r) log::warning("takeover hold: " + r.error().message);
  }
  // Written early, no promotion since: nothing written early outlives its reason.
  std::vector<Flow> stale;
  for (const FlowKey& key : hold_.take_stale_early_writes(now)) {
    // The kernel's own report of the flow if we have one (it is live), else what we wrote.
    auto known = engine_.local().find_flow(key);
    if (!known) known = peer_flow(key);
    if (!known) continue;
    Flow f = *known;
    f.timeout = std::min(f.timeout == 0 ? purge_timeout_ : f.timeout, purge_timeout_);
    stale.push_back(f);
  }
  if (!stale.empty() && engine_.role() != Role::active) {
    write_batch(kernel_, KernelWriteJob::Mode::update, stale, results_, errors_);
    log::info("takeover hold: " + std::to_string(stale.size()) +
              " flows written on demand saw no promotion: timeout " +
              std::to_string(purge_timeout_) + " s");
  }
  arm();
}

}  // namespace ctsync::app

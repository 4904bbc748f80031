#pragma once
#include <functional>
#include <map>
#include <memory>
#include <tuple>

#include "ports/scheduler.hpp"

namespace ctsync::test {

// The scheduler port on simulated time: nothing runs until the test advances the clock.
// Posted work runs at the current instant, in order; timers at their deadline.
class SimScheduler final : public ports::Scheduler {
 public:
  TimePoint now() const override { return now_; }
  // A fixed day plus simulated time.
  std::int64_t wall_ms() const override {
    return 1'800'000'000'000 +
           std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch()).count();
  }
  void post(std::function<void()> fn) override { add(now_, std::move(fn), nullptr); }
  std::unique_ptr<ports::Timer> timer() override { return std::make_unique<SimTimer>(*this); }

  // Runs everything due up to now + d (work posted meanwhile included), then sets the clock.
  // Bounded: a test whose parts keep posting forever fails instead of hanging.
  void advance(Duration d) {
    const TimePoint until = now_ + d;
    for (int i = 0; i < 1'000'000 && !queue_.empty(); ++i) {
      auto it = queue_.begin();
      if (std::get<0>(it->first) > until) break;
      now_ = std::max(now_, std::get<0>(it->first));
      auto fn = std::move(it->second.fn);
      auto gen = it->second.live;
      queue_.erase(it);
      if (gen && !*gen) continue;
      fn();
    }
    now_ = until;
  }
  // Runs the first piece of work due now, if any: one turn of the loop.
  void run_one() {
    if (queue_.empty() || std::get<0>(queue_.begin()->first) > now_) return;
    auto it = queue_.begin();
    auto item = std::move(it->second);
    queue_.erase(it);
    if (!item.live || *item.live) item.fn();
  }
  // Runs what is due now.
  void run() { advance(Duration::zero()); }
  // The process dies: nothing it had posted or armed ever runs.
  void drop_all() { queue_.clear(); }

 private:
  struct Item {
    std::function<void()> fn;
    std::shared_ptr<bool> live;  // null: always runs
  };
  void add(TimePoint at, std::function<void()> fn, std::shared_ptr<bool> live) {
    queue_.emplace(std::make_tuple(at, seq_++), Item{std::move(fn), std::move(live)});
  }

  class SimTimer final : public ports::Timer {
   public:
    explicit SimTimer(SimScheduler& s) : s_(s) {}
    ~SimTimer() override { cancel(); }
    void start(Duration after, std::function<void()> fn) override {
      cancel();
      live_ = std::make_shared<bool>(true);
      s_.add(s_.now_ + after, std::move(fn), live_);
    }
    void cancel() override {
      if (live_) *live_ = false;
    }

   private:
    SimScheduler& s_;
    std::shared_ptr<bool> live_;
  };

  TimePoint now_{std::chrono::seconds(1000)};
  std::uint64_t seq_ = 0;
  std::map<std::tuple<TimePoint, std::uint64_t>, Item> queue_;
};

}  // namespace ctsync::test

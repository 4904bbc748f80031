#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "ctsync/clock.hpp"

namespace ctsync::ports {

// A one-shot timer. Starting it again replaces what it was going to do; cancelling or
// destroying it means its function is never called.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void start(Duration after, std::function<void()> fn) = 0;
  virtual void cancel() = 0;
};

// Time and the event loop: now(), work posted to run after the current handler, timers.
// The daemon's is the io_context and the steady clock; tests run a simulated one.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual TimePoint now() const = 0;
  // Wall-clock milliseconds since the epoch: for reports a person reads, never for deciding.
  virtual std::int64_t wall_ms() const = 0;
  virtual void post(std::function<void()> fn) = 0;
  virtual std::unique_ptr<Timer> timer() = 0;
};

}  // namespace ctsync::ports

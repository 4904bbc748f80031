#pragma once
#include <boost/asio/io_context.hpp>

#include "ports/scheduler.hpp"

namespace ctsync {

// The scheduler port on the daemon's io_context and the steady clock.
class AsioScheduler final : public ports::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io) {}
  TimePoint now() const override { return Clock::now(); }
  std::int64_t wall_ms() const override;
  void post(std::function<void()> fn) override;
  std::unique_ptr<ports::Timer> timer() override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace ctsync

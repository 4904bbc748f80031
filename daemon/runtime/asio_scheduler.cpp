#include "runtime/asio_scheduler.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace ctsync {

namespace {

class AsioTimer final : public ports::Timer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}
  ~AsioTimer() override { cancel(); }

  void start(Duration after, std::function<void()> fn) override {
    // A generation per start: a wait that was already due when it was replaced or cancelled
    // still completes with success, and must do nothing.
    const std::uint64_t generation = ++generation_;
    timer_.expires_after(after);
    timer_.async_wait([this, generation, fn = std::move(fn),
                       alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
      if (ec || alive.expired() || generation != generation_) return;
      fn();
    });
  }
  void cancel() override {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

void AsioScheduler::post(std::function<void()> fn) {
  boost::asio::post(io_, std::move(fn));
}

std::unique_ptr<ports::Timer> AsioScheduler::timer() {
  return std::make_unique<AsioTimer>(io_);
}

std::int64_t AsioScheduler::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ctsync

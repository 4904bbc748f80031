#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

namespace ctsync {

// Tells systemd how the daemon is (READY, RELOADING, STOPPING, STATUS) and feeds its
// watchdog when the unit has one.
class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::io_context& io) : watchdog_(io) {}
  void notify(const std::string& state) const;
  void start_watchdog();
  void stop() { watchdog_.cancel(); }

 private:
  boost::asio::steady_timer watchdog_;
};

}  // namespace ctsync

#include "runtime/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

namespace ctsync {

void SystemdNotifier::notify(const std::string& state) const {
  ::sd_notify(0, state.c_str());
}

void SystemdNotifier::start_watchdog() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_.expires_after(std::chrono::microseconds(usec / 2));
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    notify("WATCHDOG=1");
    start_watchdog();
  });
}

}  // namespace ctsync

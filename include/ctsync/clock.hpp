#pragma once
// The core never reads a clock: callers pass `now`. Tests drive simulated time; the daemon
// passes steady_clock readings.
#include <chrono>

namespace ctsync {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;
using std::chrono::seconds;

}  // namespace ctsync

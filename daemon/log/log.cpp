#include "log/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace ctsync::log {

namespace {
LogLevel current = LogLevel::info;
std::string prefix = "ctsyncd";
bool journal = false;
std::mutex mu;

void write(LogLevel level, int priority, const char* name, const std::string& message) {
  if (!enabled(level)) return;
  std::lock_guard<std::mutex> lock(mu);
  if (journal) {
    std::fprintf(stderr, "<%d>%s\n", priority, message.c_str());
  } else {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::localtime_r(&ts.tv_sec, &t);
    std::fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s: %s\n", t.tm_hour, t.tm_min, t.tm_sec,
                 ts.tv_nsec / 1000000, prefix.c_str(), name, message.c_str());
  }
  std::fflush(stderr);
}
}  // namespace

void configure(LogLevel level, const std::string& tag) {
  current = level;
  prefix = tag;
  journal = std::getenv("JOURNAL_STREAM") != nullptr;
}

void set_level(LogLevel level) {
  current = level;
}
bool enabled(LogLevel level) {
  return static_cast<int>(level) <= static_cast<int>(current);
}

void error(const std::string& m) {
  write(LogLevel::error, 3, "error", m);
}
void warning(const std::string& m) {
  write(LogLevel::warning, 4, "warning", m);
}
void info(const std::string& m) {
  write(LogLevel::info, 6, "info", m);
}
void debug(const std::string& m) {
  write(LogLevel::debug, 7, "debug", m);
}

}  // namespace ctsync::log

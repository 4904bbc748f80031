#pragma once
#include <string>

#include "core/config.hpp"

namespace ctsync::log {

// Logs go to standard error: under systemd each line carries a syslog priority prefix that
// journald understands; on a terminal, a timestamp and the level instead.
void configure(LogLevel level, const std::string& tag);
void set_level(LogLevel level);
bool enabled(LogLevel level);

void error(const std::string& message);
void warning(const std::string& message);
void info(const std::string& message);
void debug(const std::string& message);

}  // namespace ctsync::log

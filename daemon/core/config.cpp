#include "core/config.hpp"

namespace ctsync {

std::string_view cache_mode_name(CacheMode m) {
  return m == CacheMode::direct ? "direct" : "external";
}

std::string_view log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::error:
      return "error";
    case LogLevel::warning:
      return "warning";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "info";
}

}  // namespace ctsync

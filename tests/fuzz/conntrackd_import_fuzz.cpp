// Any conntrackd.conf becomes a ctsyncd.toml or an error that says something, never a crash;
// and whatever it writes, the configuration parser reads without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_parser.hpp"
#include "config/conntrackd_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto toml = ctsync::import_conntrackd(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.conf");
  if (!toml.ok()) {
    if (toml.error().message.empty()) __builtin_trap();
    return 0;
  }
  auto c = ctsync::parse_config(*toml, "fuzz.toml");
  if (!c.ok() && c.error().message.empty()) __builtin_trap();
  return 0;
}

// The configuration parser must turn any file into a configuration or an error message,
// never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto c = ctsync::parse_config(std::string_view(reinterpret_cast<const char*>(data), size),
                                "fuzz.toml");
  if (!c.ok() && c.error().message.empty()) __builtin_trap();  // every error must say something
  return 0;
}

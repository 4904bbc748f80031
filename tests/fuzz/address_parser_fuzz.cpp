// Addresses and prefixes come from the configuration file and the control socket.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ctsync/ip_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto c = ctsync::parse_cidr(text)) {
    // A parsed prefix must print back to something that parses to the same prefix.
    auto again = ctsync::parse_cidr(ctsync::to_string(*c));
    if (!again || again->network != c->network || again->prefix_length != c->prefix_length) {
      __builtin_trap();
    }
    (void)c->contains(c->family, c->network);
  }
  return 0;
}

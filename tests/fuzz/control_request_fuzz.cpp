// Requests on the control socket come from any root process; a malformed one gets an error
// reply, never a crash. A parsed request must print back to one that parses the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/control_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r =
      ctsync::parse_control_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r) return 0;
  auto again = ctsync::parse_control_request(ctsync::format_control_request(*r));
  if (!again || again->command != r->command || again->json != r->json || again->limit != r->limit)
    __builtin_trap();
  return 0;
}

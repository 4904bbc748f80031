#pragma once
#include <cstdint>
#include <string_view>

namespace ctsync {

// A node's role in the failover pair or cluster. The wire has its own enum (v1::Role); the
// codec converts at the edge, so nothing above it depends on protobuf's types.
enum class Role : std::uint8_t { unknown = 0, backup = 1, active = 2, fault = 3 };

constexpr std::string_view role_name(Role r) {
  switch (r) {
    case Role::backup:
      return "backup";
    case Role::active:
      return "active";
    case Role::fault:
      return "fault";
    case Role::unknown:
      break;
  }
  return "unknown";
}

// What the wire or the state file says, or unknown for anything else.
constexpr Role role_from_number(int n) {
  return n >= 1 && n <= 3 ? static_cast<Role>(n) : Role::unknown;
}

}  // namespace ctsync

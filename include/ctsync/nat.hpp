#pragma once
#include <cstdint>
#include <optional>

#include "ctsync/flow.hpp"

namespace ctsync {

// Where a translated direction was mapped to. For ICMP, port is the query id.
struct NatTarget {
  IpAddress address;
  std::uint16_t port = 0;
  friend bool operator==(const NatTarget&, const NatTarget&) = default;
};

// NAT is not stored: it is what distinguishes the reply tuple from the inverted original.
struct NatBinding {
  std::optional<NatTarget> source;       // SNAT / masquerade: the new source of the original
  std::optional<NatTarget> destination;  // DNAT / redirect: the new destination
  bool any() const { return source.has_value() || destination.has_value(); }
  friend bool operator==(const NatBinding&, const NatBinding&) = default;
};

NatBinding derive_nat(const Flow& flow);

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "ctsync/tuple.hpp"

namespace ctsync {

// The conntrack tuple of an IP packet as it arrives (before NAT and before conntrack has seen
// it), read from its headers: what the takeover hold looks up in the peers' copies. nullopt
// for anything conntrack would not find an entry for by this tuple alone: a non-first
// fragment, an ICMP error (conntrack relates it to the flow inside), a protocol whose tuple
// is not addresses and ports or an ICMP echo, a truncated or malformed header. Such packets
// are let through at once.
std::optional<Tuple> packet_tuple(std::span<const std::uint8_t> packet);

}  // namespace ctsync

#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "ctsync/flow.hpp"

namespace ctsync {

// Bytes and packets seen by the kernel, by family, protocol and direction, from the kernel's
// per-flow counters. Each flow contributes what its counters grew by since it was last
// counted (periodic dumps of live flows, then the DESTROY event), so nothing counts twice.
class TrafficAccounting {
 public:
  static constexpr std::size_t families = 2;    // ipv4, ipv6
  static constexpr std::size_t protocols = 5;   // tcp, udp, icmp (v4 and v6), sctp, other
  static constexpr std::size_t directions = 2;  // original, reply

  // `before` is what was counted for this flow so far (null for a flow not seen before).
  void count(const Flow& flow, const FlowCounters& now, const FlowCounters* before);

  std::uint64_t bytes(std::size_t fam, std::size_t proto, std::size_t dir) const {
    return bytes_[index(fam, proto, dir)];
  }
  std::uint64_t packets(std::size_t fam, std::size_t proto, std::size_t dir) const {
    return packets_[index(fam, proto, dir)];
  }

  static std::string_view family_label(std::size_t i) { return i == 0 ? "ipv4" : "ipv6"; }
  static std::string_view protocol_label(std::size_t i);
  static std::string_view direction_label(std::size_t i) { return i == 0 ? "original" : "reply"; }
  static std::size_t protocol_index(std::uint8_t protocol);

 private:
  static std::size_t index(std::size_t f, std::size_t p, std::size_t d) {
    return (f * protocols + p) * directions + d;
  }
  std::array<std::uint64_t, families * protocols * directions> bytes_{};
  std::array<std::uint64_t, families * protocols * directions> packets_{};
};

}  // namespace ctsync

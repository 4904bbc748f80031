#pragma once
#include <cstdint>
#include <string_view>

#include "ctsync/ip_address.hpp"

namespace ctsync {

// IANA protocol numbers the model knows by name; every other number is carried as is.
namespace proto {
inline constexpr std::uint8_t icmp = 1;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
inline constexpr std::uint8_t dccp = 33;
inline constexpr std::uint8_t gre = 47;
inline constexpr std::uint8_t icmpv6 = 58;
inline constexpr std::uint8_t sctp = 132;
inline constexpr std::uint8_t udplite = 136;
}  // namespace proto

std::string_view protocol_name(std::uint8_t protocol);  // "tcp", "udp", ... or "unknown"
bool protocol_has_ports(std::uint8_t protocol);         // TCP, UDP, UDPLite, SCTP, DCCP, GRE
bool protocol_is_icmp(std::uint8_t protocol);           // ICMP or ICMPv6

// One direction of a connection as conntrack sees it. Fields that do not apply to the
// protocol stay zero: the struct has no padding and is hashed as raw bytes.
struct Tuple {
  Family family = Family::ipv4;
  std::uint8_t protocol = 0;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;  // host order; GRE carries its keys here
  std::uint16_t dst_port = 0;
  std::uint16_t icmp_id = 0;
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;

  friend bool operator==(const Tuple&, const Tuple&) = default;
};
static_assert(sizeof(Tuple) == 42, "Tuple must stay free of padding: it is hashed as bytes");

// The tuple a reply packet of this direction carries, without NAT: addresses and ports
// swapped, ICMP requests turned into their replies.
Tuple invert(const Tuple& t);

}  // namespace ctsync

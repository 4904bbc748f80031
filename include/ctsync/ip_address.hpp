#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ctsync {

// Values match AF_INET / AF_INET6 so adapters convert without a table.
enum class Family : std::uint8_t { ipv4 = 2, ipv6 = 10 };

// An IPv4 or IPv6 address in network byte order. IPv4 uses the first four bytes and keeps
// the other twelve zero, so that raw-byte hashing and comparison stay valid.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress r;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
  }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

std::string to_string(Family family, const IpAddress& address);
std::string_view family_name(Family family);  // "ipv4" / "ipv6", as conntrack prints it

// Parses a literal of the given family; nullopt when it is not one.
std::optional<IpAddress> parse_address(Family family, std::string_view text);

struct FamilyAddress {
  Family family;
  IpAddress address;
  friend bool operator==(const FamilyAddress&, const FamilyAddress&) = default;
};
// Parses an IPv4 or IPv6 literal, whichever it is.
std::optional<FamilyAddress> parse_any_address(std::string_view text);

// An address prefix such as 10.0.0.0/8 or fd00::/64.
struct Cidr {
  Family family = Family::ipv4;
  IpAddress network;
  std::uint8_t prefix_length = 0;

  bool contains(Family f, const IpAddress& a) const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};
std::optional<Cidr> parse_cidr(std::string_view text);
std::string to_string(const Cidr& cidr);

}  // namespace ctsync

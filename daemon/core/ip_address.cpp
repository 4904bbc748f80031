#include "ctsync/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ctsync {

std::string to_string(Family family, const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = family == Family::ipv4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, address.bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

std::string_view family_name(Family family) {
  return family == Family::ipv4 ? "ipv4" : "ipv6";
}

std::optional<IpAddress> parse_address(Family family, std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress a;
  const int af = family == Family::ipv4 ? AF_INET : AF_INET6;
  if (inet_pton(af, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::optional<FamilyAddress> parse_any_address(std::string_view text) {
  if (auto a = parse_address(Family::ipv4, text)) return FamilyAddress{Family::ipv4, *a};
  if (auto a = parse_address(Family::ipv6, text)) return FamilyAddress{Family::ipv6, *a};
  return std::nullopt;
}

bool Cidr::contains(Family f, const IpAddress& a) const {
  if (f != family) return false;
  unsigned bits = prefix_length;
  for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto m = static_cast<std::uint8_t>(0xffu << (8 - take));
    if ((a.bytes[i] & m) != (network.bytes[i] & m)) return false;
  }
  return true;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const auto fa = parse_any_address(text.substr(0, slash));
  if (!fa) return std::nullopt;
  const unsigned max = fa->family == Family::ipv4 ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || len > max) {
      return std::nullopt;
    }
  }
  Cidr c{fa->family, fa->address, static_cast<std::uint8_t>(len)};
  // Host bits set below the prefix are almost always a typo for a different network.
  Cidr masked = c;
  for (unsigned bit = len; bit < max; ++bit) {
    masked.network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (masked.network != c.network) return std::nullopt;
  return c;
}

std::string to_string(const Cidr& cidr) {
  return to_string(cidr.family, cidr.network) + "/" + std::to_string(cidr.prefix_length);
}

}  // namespace ctsync

#include "ctsync/tuple.hpp"

#include <utility>

namespace ctsync {

std::string_view protocol_name(std::uint8_t protocol) {
  switch (protocol) {
    case proto::icmp:
      return "icmp";
    case proto::tcp:
      return "tcp";
    case proto::udp:
      return "udp";
    case proto::dccp:
      return "dccp";
    case proto::gre:
      return "gre";
    case proto::icmpv6:
      return "icmpv6";
    case proto::sctp:
      return "sctp";
    case proto::udplite:
      return "udplite";
    default:
      return "unknown";
  }
}

bool protocol_has_ports(std::uint8_t protocol) {
  switch (protocol) {
    case proto::tcp:
    case proto::udp:
    case proto::udplite:
    case proto::sctp:
    case proto::dccp:
    case proto::gre:
      return true;
    default:
      return false;
  }
}

bool protocol_is_icmp(std::uint8_t protocol) {
  return protocol == proto::icmp || protocol == proto::icmpv6;
}

namespace {
// Queries whose answers conntrack pairs with them; the kernel inverts the type the same way.
std::uint8_t invert_icmp_type(std::uint8_t protocol, std::uint8_t type) {
  if (protocol == proto::icmp) {
    switch (type) {
      case 8:
        return 0;  // echo request <-> reply
      case 0:
        return 8;
      case 13:
        return 14;  // timestamp
      case 14:
        return 13;
      case 15:
        return 16;  // information
      case 16:
        return 15;
      case 17:
        return 18;  // address mask
      case 18:
        return 17;
      default:
        return type;
    }
  }
  switch (type) {
    case 128:
      return 129;  // echo request <-> reply
    case 129:
      return 128;
    case 139:
      return 140;  // node information
    case 140:
      return 139;
    default:
      return type;
  }
}
}  // namespace

Tuple invert(const Tuple& t) {
  Tuple r = t;
  std::swap(r.src, r.dst);
  std::swap(r.src_port, r.dst_port);
  if (protocol_is_icmp(t.protocol)) r.icmp_type = invert_icmp_type(t.protocol, t.icmp_type);
  return r;
}

}  // namespace ctsync

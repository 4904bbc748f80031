#include "core/packet_tuple.hpp"

#include <cstring>

namespace ctsync {

namespace {

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

// ICMP messages that conntrack tracks as a flow of their own (a query and its answer); their
// tuple carries type, code and identifier, not ports.
bool is_icmp_query(std::uint8_t protocol, std::uint8_t type) {
  if (protocol == proto::icmp) return type == 0 || type == 8 || type == 13 || type == 14;
  return type == 128 || type == 129;  // ICMPv6 echo request and reply
}

// Fills the transport part of `t` from the header at `l4` (`len` bytes).
bool read_transport(Tuple& t, const std::uint8_t* l4, std::size_t len) {
  if (protocol_is_icmp(t.protocol)) {
    if (len < 8 || !is_icmp_query(t.protocol, l4[0])) return false;
    t.icmp_type = l4[0];
    t.icmp_code = l4[1];
    t.icmp_id = be16(l4 + 4);
    return true;
  }
  if (t.protocol == proto::gre || !protocol_has_ports(t.protocol)) return false;
  if (len < 4) return false;
  t.src_port = be16(l4);
  t.dst_port = be16(l4 + 2);
  return true;
}

std::optional<Tuple> ipv4_tuple(std::span<const std::uint8_t> p) {
  if (p.size() < 20) return std::nullopt;
  const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
  if (ihl < 20 || p.size() < ihl) return std::nullopt;
  if ((be16(&p[6]) & 0x1fff) != 0) return std::nullopt;  // not the first fragment
  Tuple t;
  t.family = Family::ipv4;
  t.protocol = p[9];
  std::memcpy(t.src.bytes.data(), &p[12], 4);
  std::memcpy(t.dst.bytes.data(), &p[16], 4);
  if (!read_transport(t, p.data() + ihl, p.size() - ihl)) return std::nullopt;
  return t;
}

std::optional<Tuple> ipv6_tuple(std::span<const std::uint8_t> p) {
  if (p.size() < 40) return std::nullopt;
  Tuple t;
  t.family = Family::ipv6;
  std::memcpy(t.src.bytes.data(), &p[8], 16);
  std::memcpy(t.dst.bytes.data(), &p[24], 16);
  std::uint8_t next = p[6];
  std::size_t at = 40;
  // Extension headers, each bounded by the packet: at most 8 of them, as no sane packet has
  // more and a hostile one must not make us walk far.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
      if (p.size() < at + 8) return std::nullopt;
      next = p[at];
      at += (static_cast<std::size_t>(p[at + 1]) + 1) * 8;
    } else if (next == 44) {  // fragment
      if (p.size() < at + 8) return std::nullopt;
      if ((be16(&p[at + 2]) & 0xfff8) != 0) return std::nullopt;  // not the first fragment
      next = p[at];
      at += 8;
    } else {
      break;
    }
  }
  if (at > p.size()) return std::nullopt;
  t.protocol = next;
  if (!read_transport(t, p.data() + at, p.size() - at)) return std::nullopt;
  return t;
}

}  // namespace

std::optional<Tuple> packet_tuple(std::span<const std::uint8_t> packet) {
  if (packet.empty()) return std::nullopt;
  switch (packet[0] >> 4) {
    case 4:
      return ipv4_tuple(packet);
    case 6:
      return ipv6_tuple(packet);
    default:
      return std::nullopt;
  }
}

}  // namespace ctsync

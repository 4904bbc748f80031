#pragma once
// Random but valid flows for tests: both families, TCP/UDP/ICMP/SCTP, with and without NAT,
// marks, zones, labels and helpers, so every replicated field is exercised.
#include <cstdint>
#include <random>
#include <vector>

#include "ctsync/flow.hpp"
#include "ctsync/ip_address.hpp"
#include "ctsync/tuple.hpp"

namespace ctsync::test {

inline Flow random_flow(std::mt19937_64& rng, std::uint32_t serial) {
  Flow f;
  Tuple& o = f.key.original;
  o.family = (rng() % 3 == 0) ? Family::ipv6 : Family::ipv4;
  const std::uint8_t protos[] = {proto::tcp, proto::tcp,  proto::tcp,  proto::udp,
                                 proto::udp, proto::icmp, proto::sctp, proto::gre};
  o.protocol = protos[rng() % 8];
  if (o.protocol == proto::icmp && o.family == Family::ipv6) o.protocol = proto::icmpv6;
  if (o.family == Family::ipv4) {
    o.src =
        IpAddress::v4(10, static_cast<std::uint8_t>(serial >> 16),
                      static_cast<std::uint8_t>(serial >> 8), static_cast<std::uint8_t>(serial));
    o.dst = IpAddress::v4(198, 51, 100, static_cast<std::uint8_t>(rng()));
  } else {
    o.src.bytes = {0xfd, 0, 0, 1};
    o.src.bytes[12] = static_cast<std::uint8_t>(serial >> 24);
    o.src.bytes[13] = static_cast<std::uint8_t>(serial >> 16);
    o.src.bytes[14] = static_cast<std::uint8_t>(serial >> 8);
    o.src.bytes[15] = static_cast<std::uint8_t>(serial);
    o.dst.bytes = {0x20, 0x01, 0x0d, 0xb8};
    o.dst.bytes[15] = static_cast<std::uint8_t>(rng());
  }
  if (protocol_is_icmp(o.protocol)) {
    o.icmp_type = o.protocol == proto::icmp ? 8 : 128;
    o.icmp_id = static_cast<std::uint16_t>(rng());
  } else {
    o.src_port = static_cast<std::uint16_t>(1024 + rng() % 60000);
    o.dst_port = static_cast<std::uint16_t>(rng() % 2 ? 443 : 53);
  }
  if (rng() % 4 == 0) f.key.zone = static_cast<std::uint16_t>(rng() % 4);
  f.reply = invert(o);
  if (rng() % 3 == 0) {  // SNAT, sometimes with a new port
    f.reply.dst = o.family == Family::ipv4 ? IpAddress::v4(203, 0, 113, 1) : o.dst;
    if (o.family == Family::ipv6) f.reply.dst.bytes[15] ^= 0x55;
    if (protocol_has_ports(o.protocol)) f.reply.dst_port = static_cast<std::uint16_t>(rng());
    f.status |= status::src_nat | status::src_nat_done;
  }
  f.status |= status::confirmed | (rng() % 2 ? status::seen_reply | status::assured : 0u);
  f.timeout = static_cast<std::uint32_t>(rng() % 432000);
  f.mark = rng() % 5 == 0 ? static_cast<std::uint32_t>(rng()) : 0;
  if (o.protocol == proto::tcp) {
    f.tcp.state = static_cast<TcpState>(1 + rng() % 8);
    f.tcp.wscale_original = static_cast<std::uint8_t>(rng() % 15);
    f.tcp.wscale_reply = static_cast<std::uint8_t>(rng() % 15);
    f.tcp.flags_original = static_cast<std::uint8_t>(rng());
    f.tcp.flags_reply = static_cast<std::uint8_t>(rng());
    if (serial % 10 == 3) {  // a NAT helper resized a payload (no draw: keeps the stream)
      f.status |= status::seq_adjust;
      f.seq_original = {serial * 2654435761u, -3, static_cast<std::int32_t>(serial % 9) - 4};
      f.seq_reply = {serial * 40503u, 0, 7};
    }
  }
  if (o.protocol == proto::sctp) {
    f.sctp.state = static_cast<SctpState>(1 + rng() % 8);
    f.sctp.vtag_original = static_cast<std::uint32_t>(rng());
    f.sctp.vtag_reply = static_cast<std::uint32_t>(rng());
  }
  if (rng() % 10 == 0) f.helper = HelperName(rng() % 2 ? "ftp" : "sip");
  if (rng() % 10 == 0) f.labels.set(static_cast<unsigned>(rng() % 128));
  if (rng() % 2 == 0) f.start_ns = rng();
  return f;
}

// A new state for an existing flow: what kernel UPDATE events look like.
inline void evolve(Flow& f, std::mt19937_64& rng) {
  f.timeout = static_cast<std::uint32_t>(rng() % 432000);
  if (f.protocol() == proto::tcp) f.tcp.state = static_cast<TcpState>(1 + rng() % 8);
  f.status |= status::seen_reply;
  if (rng() % 4 == 0) f.mark = static_cast<std::uint32_t>(rng());
  if (rng() % 8 == 0) f.labels.set(static_cast<unsigned>(rng() % 128));
}

// Flows as the kernel holds them (states and flags it accepts on creation), for tests that
// write them into a real conntrack table.
inline std::vector<Flow> kernel_valid_flows(std::size_t n, std::uint64_t seed,
                                            std::uint32_t first_serial = 1) {
  std::mt19937_64 rng(seed);
  std::vector<Flow> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    Flow f = random_flow(rng, first_serial + i);
    f.helper = HelperName();
    f.seq_original = f.seq_reply = SeqAdjust{};
    f.start_ns = 0;
    f.status = status::seen_reply | status::assured;
    if (f.protocol() == proto::tcp) {
      f.tcp.state = TcpState::established;
      f.tcp.flags_original = f.tcp.flags_reply = 0x03;
      f.tcp.wscale_original = f.tcp.wscale_reply = 7;
    }
    if (f.protocol() == proto::sctp) f.sctp.state = SctpState::established;
    if (f.protocol() == proto::gre) f.key.original.protocol = f.reply.protocol = proto::udp;
    f.timeout = 3600;
    out.push_back(f);
  }
  return out;
}

// A flow between two addresses with no NAT (the reply is the inverse), TCP ESTABLISHED unless
// another protocol is given: what filter tests look at.
inline Flow addressed_flow(const char* src, const char* dst, std::uint8_t protocol = proto::tcp) {
  Flow f;
  const auto s = *parse_any_address(src), d = *parse_any_address(dst);
  f.key.original.family = s.family;
  f.key.original.protocol = protocol;
  f.key.original.src = s.address;
  f.key.original.dst = d.address;
  f.reply = invert(f.key.original);
  f.tcp.state = TcpState::established;
  return f;
}

}  // namespace ctsync::test

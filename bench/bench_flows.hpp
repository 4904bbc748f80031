#pragma once
// The flows every benchmark uses, identical for ctsyncd and conntrackd: IPv4 and IPv6, TCP
// established (60 %), UDP (30 %), ICMP echo (10 %), a third of the IPv4 ones SNATed — and the
// same flows as a `conntrack -R` file.
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ctsync/flow.hpp"

namespace ctsync::bench {

inline std::vector<Flow> flows(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Flow> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    Flow f;
    Tuple& o = f.key.original;
    o.family = i % 4 == 3 ? Family::ipv6 : Family::ipv4;
    const auto kind = rng() % 10;
    o.protocol = kind < 6   ? proto::tcp
                 : kind < 9 ? proto::udp
                            : (o.family == Family::ipv4 ? proto::icmp : proto::icmpv6);
    if (o.family == Family::ipv4) {
      // 100.64.0.0/10, clear of the test networks' own addresses (10.10.0.0/16), which both
      // daemons are configured to ignore: at 1 000 000 flows 10.(i >> 16) reached 10.10.
      o.src = IpAddress::v4(100, static_cast<std::uint8_t>(64 + (i >> 16)),
                            static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
      o.dst = IpAddress::v4(198, 51, 100, static_cast<std::uint8_t>(1 + rng() % 250));
    } else {
      o.src.bytes = {0xfd, 0, 0, 1};
      o.src.bytes[13] = static_cast<std::uint8_t>(i >> 16);
      o.src.bytes[14] = static_cast<std::uint8_t>(i >> 8);
      o.src.bytes[15] = static_cast<std::uint8_t>(i);
      o.dst.bytes = {0x20, 0x01, 0x0d, 0xb8};
      o.dst.bytes[15] = static_cast<std::uint8_t>(1 + rng() % 250);
    }
    if (protocol_is_icmp(o.protocol)) {
      o.icmp_type = o.protocol == proto::icmp ? 8 : 128;
      o.icmp_id = static_cast<std::uint16_t>(i);
    } else {
      o.src_port = static_cast<std::uint16_t>(1024 + (i % 60000));
      o.dst_port = o.protocol == proto::tcp ? 443 : 53;
    }
    f.reply = invert(o);
    // SNAT with the source port kept. Flows that share a source port (i apart by a multiple
    // of 60 000) get different addresses, so no two replies clash and the kernel takes all M.
    if (o.family == Family::ipv4 && i % 3 == 0 && !protocol_is_icmp(o.protocol)) {
      f.reply.dst = IpAddress::v4(203, 0, 113, 1 + static_cast<std::uint8_t>((i / 60000) % 200));
    }
    f.status = status::seen_reply | status::assured;
    // Long enough for the slowest run to count them all: with UDP's 120 s and ICMP's 30 s the
    // kernel expired entries of a 1 000 000-flow table before the backup's copy was counted.
    f.timeout = o.protocol == proto::tcp ? 432000 : 3600;
    if (o.protocol == proto::tcp) {
      f.tcp.state = TcpState::established;
      f.tcp.flags_original = f.tcp.flags_reply = 0x03;
      f.tcp.wscale_original = f.tcp.wscale_reply = 7;
    }
    out.push_back(f);
  }
  return out;
}

inline void write_restore_file(const std::vector<Flow>& flows, const std::string& path) {
  std::ofstream out(path);
  for (const Flow& f : flows) {
    const Tuple& o = f.original();
    out << "-I -p " << protocol_name(o.protocol) << " -s " << to_string(o.family, o.src) << " -d "
        << to_string(o.family, o.dst);
    if (o.protocol == proto::icmp) {
      out << " --icmp-type 8 --icmp-code 0 --icmp-id " << o.icmp_id;
    } else if (o.protocol == proto::icmpv6) {
      out << " --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id " << o.icmp_id;
    } else {
      out << " --sport " << o.src_port << " --dport " << o.dst_port;
    }
    if (o.protocol == proto::tcp) out << " --state ESTABLISHED";
    out << " -t " << f.timeout << " -u SEEN_REPLY,ASSURED";
    if (f.reply.dst != o.src) out << " --src-nat " << to_string(o.family, f.reply.dst);
    out << "\n";
  }
}

}  // namespace ctsync::bench

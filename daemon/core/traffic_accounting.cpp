#include "core/traffic_accounting.hpp"

namespace ctsync {

std::string_view TrafficAccounting::protocol_label(std::size_t i) {
  switch (i) {
    case 0:
      return "tcp";
    case 1:
      return "udp";
    case 2:
      return "icmp";
    case 3:
      return "sctp";
    default:
      return "other";
  }
}

std::size_t TrafficAccounting::protocol_index(std::uint8_t protocol) {
  switch (protocol) {
    case proto::tcp:
      return 0;
    case proto::udp:
    case proto::udplite:
      return 1;
    case proto::icmp:
    case proto::icmpv6:
      return 2;
    case proto::sctp:
      return 3;
    default:
      return 4;
  }
}

void TrafficAccounting::count(const Flow& flow, const FlowCounters& now,
                              const FlowCounters* before) {
  const std::size_t f = flow.family() == Family::ipv4 ? 0 : 1;
  const std::size_t p = protocol_index(flow.protocol());
  const FlowCounters zero;
  const Counters& bo = (before ? *before : zero).original;
  const Counters& br = (before ? *before : zero).reply;
  // Counters only grow; a smaller value means the entry was replaced (a new flow with the
  // same key), whose whole count is new.
  auto grow = [](std::uint64_t n, std::uint64_t b) { return n >= b ? n - b : n; };
  bytes_[index(f, p, 0)] += grow(now.original.bytes, bo.bytes);
  packets_[index(f, p, 0)] += grow(now.original.packets, bo.packets);
  bytes_[index(f, p, 1)] += grow(now.reply.bytes, br.bytes);
  packets_[index(f, p, 1)] += grow(now.reply.packets, br.packets);
}

}  // namespace ctsync

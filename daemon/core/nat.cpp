#include "ctsync/nat.hpp"

namespace ctsync {

NatBinding derive_nat(const Flow& flow) {
  const Tuple& o = flow.original();
  const Tuple& r = flow.reply;
  NatBinding nat;
  if (protocol_is_icmp(o.protocol)) {
    // The kernel keeps the ICMP query id in both tuples; a changed id is a source mapping.
    if (r.dst != o.src || r.icmp_id != o.icmp_id) nat.source = NatTarget{r.dst, r.icmp_id};
    if (r.src != o.dst) nat.destination = NatTarget{r.src, 0};
    return nat;
  }
  const bool ports = protocol_has_ports(o.protocol);
  if (r.dst != o.src || (ports && r.dst_port != o.src_port)) {
    nat.source = NatTarget{r.dst, ports ? r.dst_port : std::uint16_t{0}};
  }
  if (r.src != o.dst || (ports && r.src_port != o.dst_port)) {
    nat.destination = NatTarget{r.src, ports ? r.src_port : std::uint16_t{0}};
  }
  return nat;
}

}  // namespace ctsync

#include "ctsync/expectation.hpp"

namespace ctsync {

std::size_t ExpectationKeyHash::operator()(const ExpectationKey& k) const {
  // A FlowKey has the same shape (zone and tuple), and its hash is seeded per process.
  return hash_key(FlowKey{k.zone, k.expected});
}

namespace {
std::string addresses_and_ports(const char* prefix, const Tuple& t) {
  std::string out = std::string(prefix) + "src=" + to_string(t.family, t.src) + " " + prefix +
                    "dst=" + to_string(t.family, t.dst) + " ";
  if (protocol_has_ports(t.protocol)) {
    out += "sport=" + std::to_string(t.src_port) + " dport=" + std::to_string(t.dst_port) + " ";
  }
  return out;
}
}  // namespace

std::string to_conntrack_string(const Expectation& e) {
  std::string out = std::to_string(e.timeout) + " proto=" + std::to_string(e.expected.protocol) +
                    " " + addresses_and_ports("", e.expected);
  out += addresses_and_ports("mask-", e.mask);
  out += addresses_and_ports("master-", e.master.original);
  if (e.flags & expect_flag::permanent) out += "PERMANENT ";
  if (e.flags & expect_flag::inactive) out += "INACTIVE ";
  if (e.flags & expect_flag::userspace) out += "USERSPACE ";
  out += "class=" + std::to_string(e.klass);
  if (!e.helper.empty()) out += " helper=" + e.helper;
  if (e.zone != 0) out += " zone=" + std::to_string(e.zone);
  if (e.has_nat) {
    out +=
        " nat-dir=" + std::to_string(e.nat_dir) + " nat-src=" + to_string(e.nat.family, e.nat.src);
    if (protocol_has_ports(e.nat.protocol)) out += " nat-sport=" + std::to_string(e.nat.src_port);
  }
  if (!e.function.empty()) out += " fn=" + e.function;
  return out;
}

}  // namespace ctsync

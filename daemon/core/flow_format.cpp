#include "ctsync/flow_format.hpp"

#include <cstdio>

namespace ctsync {

namespace {

void append_padded(std::string& out, std::string_view word, std::size_t width) {
  // printf's "%-8s " as conntrack uses it: pad to the width, then one separating space.
  out.append(word);
  out.append(word.size() < width ? width - word.size() + 1 : 1, ' ');
}

void append_counters(std::string& out, const Counters& c) {
  if (c.packets == 0 && c.bytes == 0) return;
  out += "packets=" + std::to_string(c.packets) + " bytes=" + std::to_string(c.bytes) + " ";
}

std::string labels_hex(const Labels& l) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0x%016llx%016llx", static_cast<unsigned long long>(l.words[1]),
                static_cast<unsigned long long>(l.words[0]));
  return buf;
}

}  // namespace

std::string to_string(const Tuple& t) {
  std::string out = "src=" + to_string(t.family, t.src) + " dst=" + to_string(t.family, t.dst);
  if (protocol_is_icmp(t.protocol)) {
    out += " type=" + std::to_string(t.icmp_type) + " code=" + std::to_string(t.icmp_code) +
           " id=" + std::to_string(t.icmp_id);
  } else if (t.protocol == proto::gre) {
    out += " srckey=" + std::to_string(t.src_port) + " dstkey=" + std::to_string(t.dst_port);
  } else if (protocol_has_ports(t.protocol)) {
    out += " sport=" + std::to_string(t.src_port) + " dport=" + std::to_string(t.dst_port);
  }
  return out;
}

std::string to_conntrack_string(const Flow& f, const FlowCounters& counters) {
  std::string out;
  out.reserve(256);
  append_padded(out, family_name(f.family()), 8);
  out += std::to_string(static_cast<unsigned>(f.family())) + " ";
  append_padded(out, protocol_name(f.protocol()), 8);
  out += std::to_string(f.protocol()) + " " + std::to_string(f.timeout) + " ";
  if (f.protocol() == proto::tcp) {
    out += std::string(tcp_state_name(f.tcp.state)) + " ";
  } else if (f.protocol() == proto::sctp) {
    out += std::string(sctp_state_name(f.sctp.state)) + " ";
  }
  out += to_string(f.original()) + " ";
  append_counters(out, counters.original);
  if (!(f.status & status::seen_reply)) out += "[UNREPLIED] ";
  out += to_string(f.reply) + " ";
  append_counters(out, counters.reply);
  if (f.status & status::offload) out += "[OFFLOAD] ";
  if (f.status & status::assured) out += "[ASSURED] ";
  out += "mark=" + std::to_string(f.mark) + " ";
  if (f.key.zone != 0) out += "zone=" + std::to_string(f.key.zone) + " ";
  if (!f.helper.empty()) out += "helper=" + std::string(f.helper.view()) + " ";
  if (!f.labels.empty()) out += "labels=" + labels_hex(f.labels) + " ";
  out += "use=1";
  return out;
}

}  // namespace ctsync

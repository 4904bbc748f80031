#include "kernel/conntrack_codec.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "ctsync/nat.hpp"
#include "kernel/netlink_attributes.hpp"

namespace ctsync {

using namespace netlink;

namespace {

struct CtDeleter {
  void operator()(nf_conntrack* ct) const { nfct_destroy(ct); }
};
using CtPtr = std::unique_ptr<nf_conntrack, CtDeleter>;

void set_address(nf_conntrack* ct, Family f, nf_conntrack_attr v4, nf_conntrack_attr v6,
                 const IpAddress& a) {
  if (f == Family::ipv4) {
    std::uint32_t v;
    std::memcpy(&v, a.bytes.data(), 4);
    nfct_set_attr_u32(ct, v4, v);
  } else {
    nfct_set_attr(ct, v6, a.bytes.data());
  }
}

void set_tuples(nf_conntrack* ct, const Flow& f) {
  const Tuple& o = f.original();
  const Tuple r = invert(o);  // the kernel derives the NATed reply from the bindings
  const auto l3 = static_cast<std::uint8_t>(o.family);
  nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, l3);
  nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, l3);
  nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, o.protocol);
  nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, o.protocol);
  set_address(ct, o.family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, o.src);
  set_address(ct, o.family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, o.dst);
  set_address(ct, o.family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, r.src);
  set_address(ct, o.family, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, r.dst);
  if (protocol_is_icmp(o.protocol)) {
    // libnetfilter_conntrack fills the reply's type and id from these.
    nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, o.icmp_type);
    nfct_set_attr_u8(ct, ATTR_ICMP_CODE, o.icmp_code);
    nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(o.icmp_id));
  } else if (protocol_has_ports(o.protocol)) {
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(o.src_port));
    nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(o.dst_port));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(r.src_port));
    nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(r.dst_port));
  }
}

void set_nat(nf_conntrack* ct, const Flow& f) {
  const NatBinding nat = derive_nat(f);
  const Tuple& o = f.original();
  const bool ports = protocol_has_ports(o.protocol);
  const bool icmp = protocol_is_icmp(o.protocol);
  if (nat.source) {
    set_address(ct, o.family, ATTR_SNAT_IPV4, ATTR_SNAT_IPV6, nat.source->address);
    if ((ports && nat.source->port != o.src_port) || (icmp && nat.source->port != o.icmp_id)) {
      nfct_set_attr_u16(ct, ATTR_SNAT_PORT, htons(nat.source->port));
    }
  }
  if (nat.destination) {
    set_address(ct, o.family, ATTR_DNAT_IPV4, ATTR_DNAT_IPV6, nat.destination->address);
    if (ports && nat.destination->port != o.dst_port) {
      nfct_set_attr_u16(ct, ATTR_DNAT_PORT, htons(nat.destination->port));
    }
  }
}

}  // namespace

namespace {

void decode_counters(const nlattr* nest, Counters& c) {
  AttrTable<CTA_COUNTERS_MAX> t;
  if (!t.parse_nested(nest)) return;
  c.packets =
      t[CTA_COUNTERS_PACKETS] ? be64(t[CTA_COUNTERS_PACKETS]) : be32(t[CTA_COUNTERS32_PACKETS]);
  c.bytes = t[CTA_COUNTERS_BYTES] ? be64(t[CTA_COUNTERS_BYTES]) : be32(t[CTA_COUNTERS32_BYTES]);
}

}  // namespace

bool decode_netlink_tuple(const nlattr* nest, Family family, Tuple& t, std::uint16_t* zone) {
  AttrTable<CTA_TUPLE_MAX> tt;
  if (nest == nullptr || !tt.parse_nested(nest)) return false;
  t.family = family;
  AttrTable<CTA_IP_MAX> ip;
  AttrTable<CTA_PROTO_MAX> pr;
  if (!tt[CTA_TUPLE_IP] || !ip.parse_nested(tt[CTA_TUPLE_IP])) return false;
  if (!tt[CTA_TUPLE_PROTO] || !pr.parse_nested(tt[CTA_TUPLE_PROTO])) return false;
  if (family == Family::ipv4) {
    if (!has_len(ip[CTA_IP_V4_SRC], 4) || !has_len(ip[CTA_IP_V4_DST], 4)) return false;
    std::memcpy(t.src.bytes.data(), payload(ip[CTA_IP_V4_SRC]), 4);
    std::memcpy(t.dst.bytes.data(), payload(ip[CTA_IP_V4_DST]), 4);
  } else {
    if (!has_len(ip[CTA_IP_V6_SRC], 16) || !has_len(ip[CTA_IP_V6_DST], 16)) return false;
    std::memcpy(t.src.bytes.data(), payload(ip[CTA_IP_V6_SRC]), 16);
    std::memcpy(t.dst.bytes.data(), payload(ip[CTA_IP_V6_DST]), 16);
  }
  if (!pr[CTA_PROTO_NUM]) return false;
  t.protocol = u8(pr[CTA_PROTO_NUM]);
  if (t.protocol == proto::icmp) {
    t.icmp_id = be16(pr[CTA_PROTO_ICMP_ID]);
    t.icmp_type = u8(pr[CTA_PROTO_ICMP_TYPE]);
    t.icmp_code = u8(pr[CTA_PROTO_ICMP_CODE]);
  } else if (t.protocol == proto::icmpv6) {
    t.icmp_id = be16(pr[CTA_PROTO_ICMPV6_ID]);
    t.icmp_type = u8(pr[CTA_PROTO_ICMPV6_TYPE]);
    t.icmp_code = u8(pr[CTA_PROTO_ICMPV6_CODE]);
  } else if (protocol_has_ports(t.protocol)) {
    t.src_port = be16(pr[CTA_PROTO_SRC_PORT]);
    t.dst_port = be16(pr[CTA_PROTO_DST_PORT]);
  }
  if (zone && tt[CTA_TUPLE_ZONE]) *zone = be16(tt[CTA_TUPLE_ZONE]);
  return true;
}

std::uint16_t decode_conntrack(const nlmsghdr* nlh, Flow& f, FlowCounters& counters) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return 0;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6) return 0;
  const auto family = static_cast<Family>(nfg->nfgen_family);
  AttrTable<CTA_MAX> top;
  const std::size_t header = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (nlh->nlmsg_len < header) return 0;
  top.parse(reinterpret_cast<const unsigned char*>(nlh) + header, nlh->nlmsg_len - header);
  f = Flow{};
  std::uint16_t orig_zone = 0;
  if (!decode_netlink_tuple(top[CTA_TUPLE_ORIG], family, f.key.original, &orig_zone)) return 0;
  if (!decode_netlink_tuple(top[CTA_TUPLE_REPLY], family, f.reply, nullptr)) return 0;
  if (f.reply.protocol != f.key.original.protocol) return 0;
  f.key.zone = top[CTA_ZONE] ? be16(top[CTA_ZONE]) : orig_zone;

  // The kernel puts the helper in every message of an entry that has one; labels only in
  // dumps and in events that changed them.
  std::uint16_t present = field::helper;
  if (top[CTA_STATUS]) {
    f.status = be32(top[CTA_STATUS]);
    present |= field::status;
  }
  if (top[CTA_TIMEOUT]) {
    f.timeout = be32(top[CTA_TIMEOUT]);
    present |= field::timeout;
  }
  if (top[CTA_MARK]) {
    f.mark = be32(top[CTA_MARK]);
    present |= field::mark;
  }
  if (top[CTA_PROTOINFO]) {
    AttrTable<CTA_PROTOINFO_MAX> pi;
    if (pi.parse_nested(top[CTA_PROTOINFO])) {
      AttrTable<CTA_PROTOINFO_TCP_MAX> tcp;
      AttrTable<CTA_PROTOINFO_SCTP_MAX> sctp;
      if (pi[CTA_PROTOINFO_TCP] && tcp.parse_nested(pi[CTA_PROTOINFO_TCP])) {
        f.tcp.state = static_cast<TcpState>(u8(tcp[CTA_PROTOINFO_TCP_STATE]));
        f.tcp.wscale_original = u8(tcp[CTA_PROTOINFO_TCP_WSCALE_ORIGINAL]);
        f.tcp.wscale_reply = u8(tcp[CTA_PROTOINFO_TCP_WSCALE_REPLY]);
        f.tcp.flags_original = u8(tcp[CTA_PROTOINFO_TCP_FLAGS_ORIGINAL]);  // {flags, mask}
        f.tcp.flags_reply = u8(tcp[CTA_PROTOINFO_TCP_FLAGS_REPLY]);
        present |= field::protoinfo;
      }
      if (pi[CTA_PROTOINFO_SCTP] && sctp.parse_nested(pi[CTA_PROTOINFO_SCTP])) {
        f.sctp.state = static_cast<SctpState>(u8(sctp[CTA_PROTOINFO_SCTP_STATE]));
        f.sctp.vtag_original = be32(sctp[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL]);
        f.sctp.vtag_reply = be32(sctp[CTA_PROTOINFO_SCTP_VTAG_REPLY]);
        present |= field::protoinfo;
      }
    }
  }
  if (top[CTA_HELP]) {
    AttrTable<CTA_HELP_MAX> h;
    if (h.parse_nested(top[CTA_HELP]) && h[CTA_HELP_NAME]) {
      const std::string_view name(static_cast<const char*>(payload(h[CTA_HELP_NAME])),
                                  payload_len(h[CTA_HELP_NAME]));
      f.helper = HelperName(name.substr(0, name.find('\0')));
    }
  }
  auto seq = [](const nlattr* nest, SeqAdjust& s) {
    AttrTable<CTA_SEQADJ_MAX> t;
    t.parse_nested(nest);
    s.correction_pos = be32(t[CTA_SEQADJ_CORRECTION_POS]);
    s.offset_before = static_cast<std::int32_t>(be32(t[CTA_SEQADJ_OFFSET_BEFORE]));
    s.offset_after = static_cast<std::int32_t>(be32(t[CTA_SEQADJ_OFFSET_AFTER]));
  };
  if (top[CTA_SEQ_ADJ_ORIG] || top[CTA_SEQ_ADJ_REPLY]) {
    if (top[CTA_SEQ_ADJ_ORIG]) seq(top[CTA_SEQ_ADJ_ORIG], f.seq_original);
    if (top[CTA_SEQ_ADJ_REPLY]) seq(top[CTA_SEQ_ADJ_REPLY], f.seq_reply);
    present |= field::seq_adjust;
  }
  if (top[CTA_LABELS]) {
    present |= field::labels;
    const auto* p = static_cast<const std::uint8_t*>(payload(top[CTA_LABELS]));
    const std::size_t n = std::min<std::size_t>(payload_len(top[CTA_LABELS]), 16);
    // The kernel's label bitmap is an array of host-order 32-bit words, bit i in word i/32.
    for (std::size_t w = 0; w * 4 < n; ++w) {
      std::uint32_t word;
      std::memcpy(&word, p + w * 4, 4);
      for (unsigned b = 0; b < 32; ++b) {
        if (word & (1u << b)) f.labels.set(static_cast<unsigned>(w * 32 + b));
      }
    }
  }
  if (top[CTA_TIMESTAMP]) {
    AttrTable<CTA_TIMESTAMP_MAX> ts;
    if (ts.parse_nested(top[CTA_TIMESTAMP]) && ts[CTA_TIMESTAMP_START]) {
      f.start_ns = be64(ts[CTA_TIMESTAMP_START]);
      present |= field::start;
    }
  }
  if (top[CTA_COUNTERS_ORIG] || top[CTA_COUNTERS_REPLY]) {
    counters = {};
    if (top[CTA_COUNTERS_ORIG]) decode_counters(top[CTA_COUNTERS_ORIG], counters.original);
    if (top[CTA_COUNTERS_REPLY]) decode_counters(top[CTA_COUNTERS_REPLY], counters.reply);
    present |= field::counters;
  }
  return present;
}

void encode_conntrack(nlmsghdr* nlh, const Flow& f, WriteKind kind, const WriteOptions& opts) {
  CtPtr ct(nfct_new());
  nf_conntrack* c = ct.get();
  set_tuples(c, f);
  if (f.key.zone != 0) nfct_set_attr_u16(c, ATTR_ZONE, f.key.zone);
  if (kind != WriteKind::remove) {
    // CONFIRMED is set on every kernel entry already, EXPECTED and DYING cannot be set;
    // NAT bits are the kernel's own business once the binding is set up.
    std::uint32_t st = (f.status | status::confirmed) & ~(status::expected | status::dying);
    nfct_set_attr_u32(c, ATTR_STATUS, st);
    nfct_set_attr_u32(c, ATTR_TIMEOUT, f.timeout == 0 ? 1 : f.timeout);
    nfct_set_attr_u32(c, ATTR_MARK, f.mark);
    if (f.protocol() == proto::tcp) {
      std::uint8_t fo = f.tcp.flags_original, fr = f.tcp.flags_reply;
      if (opts.tcp_be_liberal) {
        fo |= IP_CT_TCP_FLAG_BE_LIBERAL;
        fr |= IP_CT_TCP_FLAG_BE_LIBERAL;
      }
      nfct_set_attr_u8(c, ATTR_TCP_STATE, static_cast<std::uint8_t>(f.tcp.state));
      nfct_set_attr_u8(c, ATTR_TCP_FLAGS_ORIG, fo);
      nfct_set_attr_u8(c, ATTR_TCP_MASK_ORIG, 0xff);
      nfct_set_attr_u8(c, ATTR_TCP_FLAGS_REPL, fr);
      nfct_set_attr_u8(c, ATTR_TCP_MASK_REPL, 0xff);
      nfct_set_attr_u8(c, ATTR_TCP_WSCALE_ORIG, f.tcp.wscale_original);
      nfct_set_attr_u8(c, ATTR_TCP_WSCALE_REPL, f.tcp.wscale_reply);
    }
    if (f.protocol() == proto::sctp && f.sctp.state != SctpState::none) {
      nfct_set_attr_u8(c, ATTR_SCTP_STATE, static_cast<std::uint8_t>(f.sctp.state));
      nfct_set_attr_u32(c, ATTR_SCTP_VTAG_ORIG, f.sctp.vtag_original);
      nfct_set_attr_u32(c, ATTR_SCTP_VTAG_REPL, f.sctp.vtag_reply);
    }
    // The kernel shifts the rest of the stream by these (a NAT helper resized a payload).
    if (!f.seq_original.empty() || !f.seq_reply.empty()) {
      nfct_set_attr_u32(c, ATTR_ORIG_NAT_SEQ_CORRECTION_POS, f.seq_original.correction_pos);
      nfct_set_attr_u32(c, ATTR_ORIG_NAT_SEQ_OFFSET_BEFORE,
                        static_cast<std::uint32_t>(f.seq_original.offset_before));
      nfct_set_attr_u32(c, ATTR_ORIG_NAT_SEQ_OFFSET_AFTER,
                        static_cast<std::uint32_t>(f.seq_original.offset_after));
      nfct_set_attr_u32(c, ATTR_REPL_NAT_SEQ_CORRECTION_POS, f.seq_reply.correction_pos);
      nfct_set_attr_u32(c, ATTR_REPL_NAT_SEQ_OFFSET_BEFORE,
                        static_cast<std::uint32_t>(f.seq_reply.offset_before));
      nfct_set_attr_u32(c, ATTR_REPL_NAT_SEQ_OFFSET_AFTER,
                        static_cast<std::uint32_t>(f.seq_reply.offset_after));
    }
    if (!f.labels.empty()) {
      nfct_bitmask* bits = nfct_bitmask_new(127);
      nfct_bitmask* mask = nfct_bitmask_new(127);
      for (unsigned b = 0; b < 128; ++b) {
        nfct_bitmask_set_bit(mask, b);
        if (f.labels.test(b)) nfct_bitmask_set_bit(bits, b);
      }
      nfct_set_attr(c, ATTR_CONNLABELS, bits);  // ownership passes to the conntrack object
      nfct_set_attr(c, ATTR_CONNLABELS_MASK, mask);
    }
  }
  if (kind == WriteKind::create) {
    set_nat(c, f);
    if (!f.helper.empty()) {
      const std::string name(f.helper.view());
      nfct_set_attr(c, ATTR_HELPER_NAME, name.c_str());
    }
  }
  nfct_nlmsg_build(nlh, c);
}

}  // namespace ctsync

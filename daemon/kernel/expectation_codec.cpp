#include "kernel/expectation_codec.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <algorithm>
#include <string_view>

#include "kernel/conntrack_codec.hpp"
#include "kernel/netlink_attributes.hpp"

namespace ctsync {

using namespace netlink;

namespace {

std::string string_attr(const nlattr* a) {
  const std::string_view s(static_cast<const char*>(payload(a)), payload_len(a));
  return std::string(s.substr(0, s.find('\0')));
}

void put_tuple(nlmsghdr* nlh, std::uint16_t type, const Tuple& t) {
  nlattr* tuple = mnl_attr_nest_start(nlh, type);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  if (t.family == Family::ipv4) {
    mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t.src.bytes.data());
    mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t.dst.bytes.data());
  } else {
    mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, t.src.bytes.data());
    mnl_attr_put(nlh, CTA_IP_V6_DST, 16, t.dst.bytes.data());
  }
  mnl_attr_nest_end(nlh, ip);
  nlattr* pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t.protocol);
  if (t.protocol == proto::icmp) {
    mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t.icmp_id));
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, t.icmp_type);
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, t.icmp_code);
  } else if (t.protocol == proto::icmpv6) {
    mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(t.icmp_id));
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, t.icmp_type);
    mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, t.icmp_code);
  } else if (protocol_has_ports(t.protocol)) {
    mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t.src_port));
    mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t.dst_port));
  }
  mnl_attr_nest_end(nlh, pr);
  mnl_attr_nest_end(nlh, tuple);
}

nlmsghdr* put_header(void* buf, std::uint8_t type, std::uint16_t flags, Family family,
                     std::uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = static_cast<std::uint8_t>(family);
  nfg->version = NFNETLINK_V0;
  return nlh;
}

}  // namespace

bool decode_expectation(const nlmsghdr* nlh, Expectation& e) {
  const std::size_t header = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (nlh->nlmsg_len < header) return false;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6) return false;
  const auto family = static_cast<Family>(nfg->nfgen_family);
  AttrTable<CTA_EXPECT_MAX> top;
  top.parse(reinterpret_cast<const unsigned char*>(nlh) + header, nlh->nlmsg_len - header);
  e = Expectation{};
  if (!decode_netlink_tuple(top[CTA_EXPECT_MASTER], family, e.master.original, nullptr) ||
      !decode_netlink_tuple(top[CTA_EXPECT_TUPLE], family, e.expected, nullptr)) {
    return false;
  }
  // A mask the kernel left out matches exactly.
  if (!decode_netlink_tuple(top[CTA_EXPECT_MASK], family, e.mask, nullptr)) {
    e.mask = e.expected;
    const std::size_t n = family == Family::ipv4 ? 4 : 16;
    std::fill_n(e.mask.src.bytes.begin(), n, 0xff);
    std::fill_n(e.mask.dst.bytes.begin(), n, 0xff);
    e.mask.src_port = e.mask.dst_port = 0xffff;
  }
  e.mask.protocol = e.expected.protocol;
  e.zone = be16(top[CTA_EXPECT_ZONE]);
  e.master.zone = e.zone;
  e.timeout = be32(top[CTA_EXPECT_TIMEOUT]);
  e.flags = be32(top[CTA_EXPECT_FLAGS]);
  e.klass = be32(top[CTA_EXPECT_CLASS]);
  if (top[CTA_EXPECT_HELP_NAME]) e.helper = string_attr(top[CTA_EXPECT_HELP_NAME]);
  if (top[CTA_EXPECT_FN]) e.function = string_attr(top[CTA_EXPECT_FN]);
  if (top[CTA_EXPECT_NAT]) {
    AttrTable<CTA_EXPECT_NAT_MAX> nat;
    nat.parse_nested(top[CTA_EXPECT_NAT]);
    if (decode_netlink_tuple(nat[CTA_EXPECT_NAT_TUPLE], family, e.nat, nullptr)) {
      e.has_nat = true;
      e.nat_dir = be32(nat[CTA_EXPECT_NAT_DIR]);
    }
  }
  return true;
}

nlmsghdr* encode_expectation_create(void* buf, const Expectation& e, std::uint32_t seq) {
  nlmsghdr* nlh =
      put_header(buf, IPCTNL_MSG_EXP_NEW, NLM_F_CREATE | NLM_F_EXCL, e.expected.family, seq);
  put_tuple(nlh, CTA_EXPECT_MASTER, e.master.original);
  put_tuple(nlh, CTA_EXPECT_TUPLE, e.expected);
  put_tuple(nlh, CTA_EXPECT_MASK, e.mask);
  if (e.zone != 0) mnl_attr_put_u16(nlh, CTA_EXPECT_ZONE, htons(e.zone));
  mnl_attr_put_u32(nlh, CTA_EXPECT_TIMEOUT, htonl(e.timeout));
  mnl_attr_put_u32(nlh, CTA_EXPECT_FLAGS, htonl(e.flags));
  if (!e.helper.empty()) {
    mnl_attr_put_strz(nlh, CTA_EXPECT_HELP_NAME, e.helper.c_str());
    // The kernel checks a class only against a named helper.
    mnl_attr_put_u32(nlh, CTA_EXPECT_CLASS, htonl(e.klass));
  }
  if (!e.function.empty()) mnl_attr_put_strz(nlh, CTA_EXPECT_FN, e.function.c_str());
  if (e.has_nat) {
    nlattr* nat = mnl_attr_nest_start(nlh, CTA_EXPECT_NAT);
    mnl_attr_put_u32(nlh, CTA_EXPECT_NAT_DIR, htonl(e.nat_dir));
    put_tuple(nlh, CTA_EXPECT_NAT_TUPLE, e.nat);
    mnl_attr_nest_end(nlh, nat);
  }
  return nlh;
}

nlmsghdr* encode_expectation_delete(void* buf, const ExpectationKey& key, std::uint32_t seq) {
  nlmsghdr* nlh = put_header(buf, IPCTNL_MSG_EXP_DELETE, 0, key.expected.family, seq);
  put_tuple(nlh, CTA_EXPECT_TUPLE, key.expected);
  if (key.zone != 0) mnl_attr_put_u16(nlh, CTA_EXPECT_ZONE, htons(key.zone));
  return nlh;
}

}  // namespace ctsync

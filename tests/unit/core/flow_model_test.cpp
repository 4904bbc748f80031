#include <gtest/gtest.h>

#include <functional>
#include <unordered_set>

#include "core/table_digest.hpp"
#include "ctsync/flow.hpp"
#include "ctsync/flow_format.hpp"
#include "ctsync/nat.hpp"

namespace ctsync {
namespace {

IpAddress v4(const char* s) {
  return *parse_address(Family::ipv4, s);
}
IpAddress v6(const char* s) {
  return *parse_address(Family::ipv6, s);
}

Tuple tcp4(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  Tuple t;
  t.family = Family::ipv4;
  t.protocol = proto::tcp;
  t.src = v4(src);
  t.dst = v4(dst);
  t.src_port = sport;
  t.dst_port = dport;
  return t;
}

Flow established_tcp4() {
  Flow f;
  f.key.original = tcp4("192.168.1.10", "203.0.113.5", 40000, 443);
  f.reply = invert(f.key.original);
  f.status = status::seen_reply | status::assured | status::confirmed;
  f.timeout = 431999;
  f.tcp.state = TcpState::established;
  f.tcp.wscale_original = 7;
  f.tcp.wscale_reply = 7;
  f.tcp.flags_original = 0x23;
  f.tcp.flags_reply = 0x23;
  return f;
}

TEST(FlowKey, EqualKeysHashEqually) {
  FlowKey a{0, tcp4("10.0.0.1", "10.0.0.2", 1000, 80)};
  FlowKey b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(hash_key(a), hash_key(b));
}

TEST(FlowKey, EveryKeyFieldChangesEqualityAndHash) {
  const FlowKey base{0, tcp4("10.0.0.1", "10.0.0.2", 1000, 80)};
  std::vector<std::function<void(FlowKey&)>> edits = {
      [](FlowKey& k) { k.zone = 1; },
      [](FlowKey& k) { k.original.protocol = proto::udp; },
      [](FlowKey& k) { k.original.family = Family::ipv6; },
      [](FlowKey& k) { k.original.src.bytes[3] ^= 1; },
      [](FlowKey& k) { k.original.dst.bytes[0] ^= 1; },
      [](FlowKey& k) { k.original.src_port = 1001; },
      [](FlowKey& k) { k.original.dst_port = 81; },
      [](FlowKey& k) { k.original.icmp_id = 9; },
      [](FlowKey& k) { k.original.icmp_type = 8; },
      [](FlowKey& k) { k.original.icmp_code = 1; },
  };
  std::unordered_set<std::uint64_t> hashes{hash_key(base)};
  for (const auto& edit : edits) {
    FlowKey k = base;
    edit(k);
    EXPECT_NE(k, base);
    hashes.insert(hash_key(k));
  }
  EXPECT_EQ(hashes.size(), edits.size() + 1);
}

TEST(FlowKey, KeyIgnoresNonKeyFields) {
  Flow a = established_tcp4();
  Flow b = a;
  b.timeout = 5;
  b.mark = 7;
  b.reply.dst = v4("198.51.100.1");
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(hash_key(a.key), hash_key(b.key));
}

TEST(Tuple, InversionSwapsEndpoints) {
  const Tuple t = tcp4("10.0.0.1", "10.0.0.2", 1000, 80);
  const Tuple r = invert(t);
  EXPECT_EQ(r.src, t.dst);
  EXPECT_EQ(r.dst, t.src);
  EXPECT_EQ(r.src_port, 80);
  EXPECT_EQ(r.dst_port, 1000);
  EXPECT_EQ(invert(r), t);
}

TEST(Tuple, InversionTurnsIcmpEchoIntoReply) {
  Tuple t;
  t.family = Family::ipv4;
  t.protocol = proto::icmp;
  t.src = v4("10.0.0.1");
  t.dst = v4("10.0.0.2");
  t.icmp_type = 8;
  t.icmp_id = 77;
  const Tuple r = invert(t);
  EXPECT_EQ(r.icmp_type, 0);
  EXPECT_EQ(r.icmp_id, 77);
  t.family = Family::ipv6;
  t.protocol = proto::icmpv6;
  t.icmp_type = 128;
  EXPECT_EQ(invert(t).icmp_type, 129);
}

TEST(Nat, NoNatWhenReplyIsInvertedOriginal) {
  EXPECT_FALSE(derive_nat(established_tcp4()).any());
}

TEST(Nat, SourceNat) {
  Flow f = established_tcp4();
  f.reply.dst = v4("198.51.100.1");
  f.reply.dst_port = 61000;
  const NatBinding nat = derive_nat(f);
  ASSERT_TRUE(nat.source.has_value());
  EXPECT_FALSE(nat.destination.has_value());
  EXPECT_EQ(nat.source->address, v4("198.51.100.1"));
  EXPECT_EQ(nat.source->port, 61000);
}

TEST(Nat, DestinationNat) {
  Flow f = established_tcp4();
  f.reply.src = v4("10.1.1.1");
  f.reply.src_port = 8443;
  const NatBinding nat = derive_nat(f);
  EXPECT_FALSE(nat.source.has_value());
  ASSERT_TRUE(nat.destination.has_value());
  EXPECT_EQ(nat.destination->address, v4("10.1.1.1"));
  EXPECT_EQ(nat.destination->port, 8443);
}

TEST(Nat, BothDirections) {
  Flow f = established_tcp4();
  f.reply.src = v4("10.1.1.1");
  f.reply.dst = v4("198.51.100.1");
  const NatBinding nat = derive_nat(f);
  ASSERT_TRUE(nat.source && nat.destination);
  EXPECT_EQ(nat.source->port, 40000);  // port kept
  EXPECT_EQ(nat.destination->port, 443);
}

TEST(Nat, SourcePortOnlyIsNat) {
  Flow f = established_tcp4();
  f.reply.dst_port = 1024;
  EXPECT_TRUE(derive_nat(f).source.has_value());
}

TEST(Format, Ipv4LikeConntrack) {
  Flow f = established_tcp4();
  f.mark = 5;
  EXPECT_EQ(to_conntrack_string(f),
            "ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=203.0.113.5 "
            "sport=40000 dport=443 src=203.0.113.5 dst=192.168.1.10 sport=443 dport=40000 "
            "[ASSURED] mark=5 use=1");
}

TEST(Format, Ipv6UnrepliedUdpWithZoneAndHelper) {
  Flow f;
  f.key.zone = 3;
  f.key.original.family = Family::ipv6;
  f.key.original.protocol = proto::udp;
  f.key.original.src = v6("2001:db8::1");
  f.key.original.dst = v6("2001:db8::2");
  f.key.original.src_port = 5000;
  f.key.original.dst_port = 53;
  f.reply = invert(f.key.original);
  f.timeout = 29;
  f.helper = HelperName("tftp");
  EXPECT_EQ(to_conntrack_string(f),
            "ipv6     10 udp      17 29 src=2001:db8::1 dst=2001:db8::2 sport=5000 dport=53 "
            "[UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=53 dport=5000 mark=0 zone=3 "
            "helper=tftp use=1");
}

TEST(Format, IcmpShowsTypeCodeId) {
  Flow f;
  f.key.original.protocol = proto::icmp;
  f.key.original.src = v4("10.0.0.1");
  f.key.original.dst = v4("10.0.0.2");
  f.key.original.icmp_type = 8;
  f.key.original.icmp_id = 42;
  f.reply = invert(f.key.original);
  f.status = status::seen_reply;
  f.timeout = 30;
  EXPECT_EQ(to_conntrack_string(f),
            "ipv4     2 icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=42 "
            "src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=42 mark=0 use=1");
}

TEST(Comparison, EveryReplicatedFieldMatters) {
  const Flow base = established_tcp4();
  std::vector<std::pair<const char*, std::function<void(Flow&)>>> edits = {
      {"zone", [](Flow& f) { f.key.zone = 2; }},
      {"original", [](Flow& f) { f.key.original.src_port++; }},
      {"reply", [](Flow& f) { f.reply.dst_port++; }},
      {"status", [](Flow& f) { f.status ^= status::assured; }},
      {"timeout", [](Flow& f) { f.timeout--; }},
      {"mark", [](Flow& f) { f.mark = 1; }},
      {"tcp state", [](Flow& f) { f.tcp.state = TcpState::fin_wait; }},
      {"wscale orig", [](Flow& f) { f.tcp.wscale_original = 2; }},
      {"wscale reply", [](Flow& f) { f.tcp.wscale_reply = 2; }},
      {"flags orig", [](Flow& f) { f.tcp.flags_original = 1; }},
      {"flags reply", [](Flow& f) { f.tcp.flags_reply = 1; }},
      {"sctp state", [](Flow& f) { f.sctp.state = SctpState::established; }},
      {"sctp vtag orig", [](Flow& f) { f.sctp.vtag_original = 1; }},
      {"sctp vtag reply", [](Flow& f) { f.sctp.vtag_reply = 1; }},
      {"helper", [](Flow& f) { f.helper = HelperName("ftp"); }},
      {"labels", [](Flow& f) { f.labels.set(127); }},
      {"start", [](Flow& f) { f.start_ns = 1; }},
      {"seq adjust orig", [](Flow& f) { f.seq_original.offset_after = 30; }},
      {"seq adjust reply", [](Flow& f) { f.seq_reply.correction_pos = 7; }},
  };
  for (const auto& [name, edit] : edits) {
    Flow f = base;
    edit(f);
    EXPECT_FALSE(same_replicated_state(base, f)) << name;
    EXPECT_NE(state_hash(base), state_hash(f)) << name << ": the digest must see it too";
  }
}

TEST(Address, CidrContainsAndRejectsHostBits) {
  auto c = parse_cidr("10.1.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(Family::ipv4, v4("10.1.200.3")));
  EXPECT_FALSE(c->contains(Family::ipv4, v4("10.2.0.1")));
  EXPECT_FALSE(c->contains(Family::ipv6, v6("::1")));
  EXPECT_FALSE(parse_cidr("10.1.0.1/16"));
  EXPECT_FALSE(parse_cidr("10.1.0.0/33"));
  EXPECT_FALSE(parse_cidr("nonsense/8"));
  auto c6 = parse_cidr("fd00:1::/32");
  ASSERT_TRUE(c6);
  EXPECT_TRUE(c6->contains(Family::ipv6, v6("fd00:1:ffff::9")));
  EXPECT_EQ(to_string(*c6), "fd00:1::/32");
}

TEST(HelperName, TruncatesToKernelLimit) {
  HelperName h("a-very-long-helper-name");
  EXPECT_EQ(h.view().size(), 15u);
}

TEST(HelperName, OneByteIndexIntoNamesThatNeverMove) {
  static_assert(sizeof(HelperName) == 1);
  const HelperName ftp("ftp"), again("ftp"), sip("sip");
  EXPECT_EQ(ftp, again);
  EXPECT_NE(ftp, sip);
  EXPECT_EQ(ftp.view(), "ftp");
  EXPECT_EQ(sip.view(), "sip");
  EXPECT_TRUE(HelperName().empty());
  EXPECT_TRUE(HelperName("").empty());
  EXPECT_EQ(HelperName(std::string_view("tftp\0junk", 9)).view(), "tftp");
  // The table is bounded, and peers' names (a key holder may invent them) stop short of its
  // end: the names this node's own kernel uses still fit. Refusals are counted.
  std::size_t from_peers = 0;
  for (int i = 0; i < 400; ++i) {
    from_peers += HelperName::intern("p" + std::to_string(i), HelperName::Origin::peer).has_value();
  }
  EXPECT_LE(from_peers, HelperName::max_names - HelperName::kept_for_kernel);
  EXPECT_GE(HelperName::refused(HelperName::Origin::peer), 400 - from_peers);
  EXPECT_EQ(HelperName::refused(HelperName::Origin::kernel), 0u);
  EXPECT_TRUE(HelperName::intern("kernel-one").has_value()) << "room kept for the kernel";
  std::size_t added = 0;
  for (int i = 0; i < 400; ++i) added += HelperName::intern("h" + std::to_string(i)).has_value();
  EXPECT_LE(added, HelperName::max_names);
  EXPECT_FALSE(HelperName::intern("one-too-many").has_value());
  EXPECT_GT(HelperName::refused(HelperName::Origin::kernel), 0u);
  EXPECT_EQ(ftp.view(), "ftp") << "earlier names stay";
}

}  // namespace
}  // namespace ctsync

namespace ctsync {
namespace {

TEST(Merge, PartialEventKeepsWhatItDidNotCarry) {
  Flow stored;
  stored.key.original.protocol = proto::tcp;
  stored.reply = invert(stored.key.original);
  stored.labels.set(5);
  stored.mark = 7;
  stored.tcp.state = TcpState::syn_sent;
  stored.timeout = 120;
  stored.helper = HelperName("ftp");
  Flow event = stored;
  event.labels = Labels();  // an UPDATE without CTA_LABELS
  event.tcp.state = TcpState::established;
  event.timeout = 432000;
  event.mark = 0;
  merge_fields(stored, event, field::timeout | field::protoinfo | field::helper);
  EXPECT_EQ(stored.tcp.state, TcpState::established);
  EXPECT_EQ(stored.timeout, 432000u);
  EXPECT_TRUE(stored.labels.test(5)) << "labels were not in the event";
  EXPECT_EQ(stored.mark, 7u) << "mark was not in the event";
  merge_fields(stored, event, field::all);
  EXPECT_TRUE(stored.labels.empty());
  EXPECT_EQ(stored.mark, 0u);
}

}  // namespace
}  // namespace ctsync

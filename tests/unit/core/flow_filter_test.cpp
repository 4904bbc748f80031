#include <gtest/gtest.h>

#include "core/flow_filter.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

Flow flow(const char* src, const char* dst, std::uint8_t protocol = proto::tcp) {
  return test::addressed_flow(src, dst, protocol);
}

TEST(FlowFilter, LoopbackAndOwnAddressesButNotVirtualOnes) {
  FilterRules r;
  r.virtual_addresses.push_back(*parse_cidr("203.0.113.10"));
  const std::vector<FamilyAddress> own = {*parse_any_address("192.0.2.1"),
                                          *parse_any_address("203.0.113.10")};
  FlowFilter f(r, own);
  EXPECT_TRUE(f.ignored(flow("127.0.0.1", "127.0.0.1")));
  EXPECT_TRUE(f.ignored(flow("::1", "::1")));
  EXPECT_TRUE(f.ignored(flow("192.0.2.1", "198.51.100.7")));
  EXPECT_FALSE(f.ignored(flow("198.51.100.7", "203.0.113.10"))) << "a service on a virtual address";
  EXPECT_FALSE(f.ignored(flow("10.0.0.5", "198.51.100.7")));
}

TEST(FlowFilter, MasqueradedFlowsAreKept) {
  FlowFilter f(FilterRules{}, {*parse_any_address("192.0.2.1")});
  Flow snat = flow("10.0.0.5", "198.51.100.7");
  snat.reply.dst = parse_any_address("192.0.2.1")->address;  // the reply comes back to us
  EXPECT_FALSE(f.ignored(snat));
}

TEST(FlowFilter, ProtocolsStatesZonesMarksAndPrefixes) {
  FilterRules r;
  r.ignore_protocols = {proto::udp};
  r.ignore_tcp_states = {static_cast<std::uint8_t>(TcpState::time_wait)};
  r.ignore_zones = {9};
  r.ignore_marks = {{0x100, 0xf00}};
  r.ignore_addresses = {*parse_cidr("10.99.0.0/16"), *parse_cidr("fd99::/16")};
  FlowFilter f(r, {});
  EXPECT_TRUE(f.ignored(flow("10.0.0.1", "10.0.0.2", proto::udp)));
  Flow tw = flow("10.0.0.1", "10.0.0.2");
  tw.tcp.state = TcpState::time_wait;
  EXPECT_TRUE(f.ignored(tw));
  tw.tcp.state = TcpState::established;
  EXPECT_FALSE(f.ignored(tw));
  Flow z = flow("10.0.0.1", "10.0.0.2");
  z.key.zone = 9;
  EXPECT_TRUE(f.ignored(z));
  Flow m = flow("10.0.0.1", "10.0.0.2");
  m.mark = 0x1ff;
  EXPECT_TRUE(f.ignored(m));
  m.mark = 0x2ff;
  EXPECT_FALSE(f.ignored(m));
  EXPECT_TRUE(f.ignored(flow("10.0.0.1", "10.99.3.4")));
  EXPECT_TRUE(f.ignored(flow("fd99::1", "fd00::1")));
}

TEST(FlowFilter, AcceptProtocolsIsAnAllowList) {
  FilterRules r;
  r.accept_protocols = {proto::tcp, proto::sctp};
  r.ignore_loopback = false;
  FlowFilter f(r, {});
  EXPECT_FALSE(f.ignored(flow("10.0.0.1", "10.0.0.2", proto::tcp)));
  EXPECT_FALSE(f.ignored(flow("10.0.0.1", "10.0.0.2", proto::sctp)));
  EXPECT_TRUE(f.ignored(flow("10.0.0.1", "10.0.0.2", proto::udp)));
  EXPECT_TRUE(f.ignored(flow("10.0.0.1", "10.0.0.2", proto::icmp)));
  EXPECT_FALSE(FlowFilter(FilterRules{}, {}).ignored(flow("10.0.0.1", "10.0.0.2", proto::udp)))
      << "an empty accept list accepts every protocol";
}

// conntrackd's Address filters look at the sources of both directions. A DNATed flow
// (client -> public address, rewritten to a server) is matched by its server in the reply
// source; the default matching (original source or destination) sees the public address.
TEST(FlowFilter, AddressMatchSourcesSeesTheReplySourceAsConntrackdDoes) {
  Flow dnat = flow("198.51.100.7", "203.0.113.10");
  dnat.reply.src = parse_any_address("10.0.0.80")->address;  // the real server answers
  FilterRules r;
  r.ignore_addresses = {*parse_cidr("10.0.0.80")};
  EXPECT_FALSE(FlowFilter(r, {}).ignored(dnat)) << "original: the server is not in the tuple";
  r.address_match = AddressMatch::sources;
  EXPECT_TRUE(FlowFilter(r, {}).ignored(dnat)) << "sources: the reply comes from the server";

  FilterRules a;
  a.address_match = AddressMatch::sources;
  a.accept_addresses = {*parse_cidr("10.0.0.0/24")};
  const FlowFilter accept(a, {});
  EXPECT_FALSE(accept.ignored(dnat)) << "accepted by its reply source";
  EXPECT_FALSE(accept.ignored(flow("10.0.0.5", "198.51.100.7"))) << "by its original source";
  EXPECT_TRUE(accept.ignored(flow("192.0.2.5", "198.51.100.7")));
  EXPECT_FALSE(accept.ignored(flow("192.0.2.5", "10.0.0.9")))
      << "with no NAT the reply source is the original destination";
}

}  // namespace
}  // namespace ctsync

// Two replication engines in two namespaces, joined by a veth, over real UDP sockets:
// IPv4 multicast, IPv6 multicast and unicast.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <random>

#include "core/sync_engine.hpp"
#include "flow_factory.hpp"
#include "net/replication_link.hpp"
#include "net/sync_transport.hpp"
#include "netns.hpp"

namespace ctsync {
namespace {

using test::Namespace;

KeyRing test_keys() {
  KeyRing r;
  SecretKey k;
  k.fill(0x5a);
  r.add(1, k);
  (void)r.set_send_id(1);
  return r;
}

struct Side {
  std::unique_ptr<SyncEngine> engine;
  std::unique_ptr<SyncTransport> transport;
  std::unique_ptr<ReplicationLink> link;
};

class SyncTransportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    test::veth(a_, "sync0", b_, "sync0");
    a_.must("ip addr add 192.168.77.1/24 dev sync0 && ip addr add fd77::1/64 dev sync0 nodad");
    b_.must("ip addr add 192.168.77.2/24 dev sync0 && ip addr add fd77::2/64 dev sync0 nodad");
  }

  TransportConfig config_for(bool first) {
    TransportConfig c;
    c.interface = "sync0";
    c.port = 3780;
    const std::string mode = GetParam();
    if (mode == "ipv4-multicast") {
      c.multicast = *parse_any_address("239.255.77.1");
    } else if (mode == "ipv6-multicast") {
      c.multicast = *parse_any_address("ff02::77");
    } else {
      const auto peer = *parse_any_address(first ? "fd77::2" : "fd77::1");
      c.peers.push_back(UdpEndpoint{peer.family, peer.address, 3780});
      c.bind = *parse_any_address(first ? "fd77::1" : "fd77::2");
    }
    return c;
  }

  Side make_side(const Namespace& ns, std::uint32_t node_id, bool first) {
    Side s;
    TransportConfig tc = config_for(first);
    {
      test::EnterNamespace in(ns);
      auto t = SyncTransport::open(io_, tc, sealer_, counters_[node_id]);
      if (!t) throw std::runtime_error(t.error().message);
      s.transport = std::move(*t);
    }
    EngineConfig ec;
    ec.node_id = node_id;
    ec.boot_id = 1000 + node_id;
    ec.max_packet_bytes = s.transport->max_plaintext();
    s.engine = std::make_unique<SyncEngine>(ec, nullptr, Clock::now());
    s.link = std::make_unique<ReplicationLink>(io_, *s.engine, *s.transport);
    return s;
  }

  Namespace a_{"sa"}, b_{"sb"};
  boost::asio::io_context io_;
  DatagramSealer sealer_{test_keys(), 1500};
  std::map<std::uint32_t, SyncCounters> counters_;
};

TEST_P(SyncTransportTest, FlowsTravelEndToEnd) {
  Side a = make_side(a_, 1, true);
  Side b = make_side(b_, 2, false);
  a.engine->set_role(Role::active, Clock::now());
  a.engine->announce_table();
  a.link->start();
  b.link->start();

  std::mt19937_64 rng(3);
  std::vector<Flow> flows;
  for (std::uint32_t i = 1; i <= 5000; ++i) flows.push_back(test::random_flow(rng, i));
  for (const auto& f : flows) a.engine->local_upsert(f);
  for (std::size_t i = 0; i < flows.size(); i += 10) a.engine->local_erase(flows[i].key);
  a.link->kick();

  const auto deadline = Clock::now() + seconds(10);
  bool equal = false;
  while (!equal && Clock::now() < deadline) {
    io_.run_for(std::chrono::milliseconds(50));
    const auto& peers = b.engine->peers();
    auto it = peers.find(1);
    if (it == peers.end()) continue;
    const PeerTable& copy = it->second->table();
    equal = copy.size() == a.engine->local().size();
    for (const auto& e : a.engine->local()) {
      if (!equal) break;
      const auto c = copy.find_flow(e.flow.key);
      equal = c && same_replicated_state(*c, e.flow);
    }
  }
  EXPECT_TRUE(equal) << GetParam();
  EXPECT_EQ(b.engine->counters().dropped_for(DropReason::auth_failed), 0u);
  EXPECT_EQ(a.engine->counters().dropped_for(DropReason::own), 0u) << "multicast loop is off";
  EXPECT_TRUE(b.engine->ready(Clock::now()));
  a.link->stop();
  b.link->stop();
}

// A bulk's datagrams are padded to one size and handed to the kernel dozens at a time (UDP
// GSO); the peer must still receive them one by one and hold the whole table.
TEST_P(SyncTransportTest, BulkGoesOutInSegmentedSends) {
  Side a = make_side(a_, 1, true);
  Side b = make_side(b_, 2, false);
  std::mt19937_64 rng(4);
  for (std::uint32_t i = 1; i <= 20000; ++i) a.engine->local_upsert(test::random_flow(rng, i));
  a.engine->set_role(Role::active, Clock::now());
  b.engine->request_resync(Clock::now());
  a.link->start();
  b.link->start();
  const auto deadline = Clock::now() + seconds(10);
  const PeerTable* copy = nullptr;
  while (Clock::now() < deadline) {
    io_.run_for(std::chrono::milliseconds(20));
    auto it = b.engine->peers().find(1);
    copy = it == b.engine->peers().end() ? nullptr : &it->second->table();
    if (copy && it->second->complete() && copy->size() == a.engine->local().size()) break;
  }
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->size(), a.engine->local().size()) << GetParam();
  for (const auto& e : a.engine->local()) {
    const auto c = copy->find_flow(e.flow.key);
    ASSERT_TRUE(c && same_replicated_state(*c, e.flow)) << GetParam();
  }
  EXPECT_GT(a.transport->segmented_sends(), 500u) << "the bulk went out one datagram per call";
  EXPECT_EQ(b.engine->counters().dropped_for(DropReason::auth_failed), 0u);
  a.link->stop();
  b.link->stop();
}

INSTANTIATE_TEST_SUITE_P(Modes, SyncTransportTest,
                         ::testing::Values("ipv4-multicast", "ipv6-multicast", "unicast"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace ctsync

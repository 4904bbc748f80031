// Expectations in the pure logic: the wire codec (round trip, and what a peer must not be
// able to send), and their replication through the simulated network, with loss, bulks to a
// restarted peer, deletes and the sender's local dump replacing its table.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/expectation_codec.hpp"
#include "sim_network.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;

Expectation ftp_expectation(std::uint16_t data_port, bool v6, bool nat) {
  Expectation e;
  const Family f = v6 ? Family::ipv6 : Family::ipv4;
  const IpAddress client =
      v6 ? *parse_address(Family::ipv6, "fd10:1::5") : IpAddress::v4(10, 10, 1, 5);
  const IpAddress server =
      v6 ? *parse_address(Family::ipv6, "fd10:2::20") : IpAddress::v4(10, 10, 2, 20);
  e.master.original = Tuple{f, proto::tcp, client, server, 40000, 21, 0, 0, 0};
  e.expected = Tuple{f, proto::tcp, client, server, 0, data_port, 0, 0, 0};
  e.mask = e.expected;
  const std::size_t address_bytes = v6 ? 16 : 4;
  std::fill_n(e.mask.src.bytes.begin(), address_bytes, 0xff);
  std::fill_n(e.mask.dst.bytes.begin(), address_bytes, 0xff);
  e.mask.src_port = 0;
  e.mask.dst_port = 0xffff;
  e.timeout = 300;
  e.helper = "ftp";
  if (nat) {
    e.function = "nat-follow-master";
    e.has_nat = true;
    e.nat_dir = 1;
    e.nat = Tuple{f, proto::tcp, client, IpAddress{}, data_port, 0, 0, 0, 0};
  }
  return e;
}

TEST(ExpectationCodec, RoundTripsEveryField) {
  for (bool v6 : {false, true}) {
    for (bool nat : {false, true}) {
      Expectation e = ftp_expectation(41000, v6, nat);
      e.zone = 7;
      e.master.zone = 7;
      e.flags = expect_flag::permanent;
      e.klass = 1;
      v1::ExpectationState m;
      encode_expectation(e, &m);
      std::string bytes;
      ASSERT_TRUE(m.SerializeToString(&bytes));
      v1::ExpectationState back;
      ASSERT_TRUE(back.ParseFromString(bytes));
      auto d = decode_expectation(back);
      ASSERT_TRUE(d.ok()) << d.error().message;
      EXPECT_EQ(*d, e) << to_conntrack_string(*d) << "\n" << to_conntrack_string(e);
    }
  }
}

TEST(ExpectationCodec, RejectsWhatAPeerCannotMean) {
  const Expectation good = ftp_expectation(41000, false, true);
  auto broken = [&](auto edit, const char* needle) {
    v1::ExpectationState m;
    encode_expectation(good, &m);
    edit(m);
    auto d = decode_expectation(m);
    ASSERT_FALSE(d.ok()) << needle;
    EXPECT_NE(d.error().message.find(needle), std::string::npos) << d.error().message;
  };
  broken([](v1::ExpectationState& m) { m.mutable_key()->set_protocol(300); }, "protocol");
  broken([](v1::ExpectationState& m) { m.mutable_key()->set_zone(70000); }, "zone");
  broken([](v1::ExpectationState& m) { m.mutable_master()->set_ipv6(true); }, "IPv");
  broken([](v1::ExpectationState& m) { m.set_flags(1u << 9); }, "flags");
  broken([](v1::ExpectationState& m) { m.set_helper(std::string(40, 'x')); }, "too long");
  broken([](v1::ExpectationState& m) { m.set_nat_dir(5); }, "NAT direction");
  broken([](v1::ExpectationState& m) { m.mutable_mask()->set_src6(std::string(16, '\xff')); },
         "mask");
}

TEST(ExpectationFormat, LooksLikeConntrackListExpect) {
  const std::string line = to_conntrack_string(ftp_expectation(41000, false, false));
  EXPECT_EQ(line,
            "300 proto=6 src=10.10.1.5 dst=10.10.2.20 sport=0 dport=41000 "
            "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
            "master-src=10.10.1.5 master-dst=10.10.2.20 sport=40000 dport=21 class=0 helper=ftp");
}

// Node 0 active, node 1 backup, on a simulated link.
struct Pair {
  sim::Network net;
  explicit Pair(double loss, std::uint64_t seed = 1) : net(seed, sim::LinkProfile{loss}) {
    net.add_node(EngineConfig{});
    net.add_node(EngineConfig{});
    net.node(0).set_role(Role::active, net.now());
    net.node(1).set_role(Role::backup, net.now());
    net.run_for(2s);
  }
  const ExpectationTable& held() { return net.node(1).peers().at(1)->expectations(); }
};

TEST(ExpectationReplication, UpsertsAndDeletesReachTheBackupThroughLoss) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Pair p(0.2, seed);
    for (std::uint16_t port = 41000; port < 41050; ++port) {
      p.net.node(0).local_expectation_upsert(ftp_expectation(port, port % 2 == 0, port % 3 == 0));
    }
    p.net.run_for(3s);
    ASSERT_EQ(p.held().size(), 50u) << "seed " << seed;
    for (std::uint16_t port = 41000; port < 41050; port += 2) {
      p.net.node(0).local_expectation_erase(ftp_expectation(port, true, false).key());
    }
    p.net.run_for(3s);
    EXPECT_EQ(p.held().size(), 25u) << "seed " << seed;
    for (const auto& [key, entry] : p.held()) {
      EXPECT_EQ(entry.expectation, p.net.node(0).local_expectations().at(key).expectation);
    }
  }
}

TEST(ExpectationReplication, ARestartedBackupGetsThemInTheBulkAfterTheFlows) {
  Pair p(0.0);
  for (std::uint16_t port = 41000; port < 41010; ++port) {
    p.net.node(0).local_expectation_upsert(ftp_expectation(port, false, false));
  }
  p.net.run_for(1s);
  p.net.restart(1).set_role(Role::backup, p.net.now());
  p.net.node(1).request_resync(p.net.now());
  p.net.run_for(3s);
  EXPECT_EQ(p.held().size(), 10u);
  EXPECT_TRUE(p.net.node(1).peers().at(1)->complete());
}

TEST(ExpectationReplication, ADumpReplacesTheLocalTableAndTheBackupFollows) {
  Pair p(0.0);
  for (std::uint16_t port = 41000; port < 41010; ++port) {
    p.net.node(0).local_expectation_upsert(ftp_expectation(port, false, false));
  }
  p.net.run_for(1s);
  // After an overrun the kernel is read again: three remain, one is new.
  std::vector<Expectation> now;
  for (std::uint16_t port : {41001, 41002, 41003, 42000}) {
    now.push_back(ftp_expectation(port, false, false));
  }
  p.net.node(0).replace_local_expectations(now);
  p.net.run_for(1s);
  EXPECT_EQ(p.net.node(0).local_expectations().size(), 4u);
  ASSERT_EQ(p.held().size(), 4u);
  EXPECT_EQ(p.held().count(ftp_expectation(42000, false, false).key()), 1u);
}

TEST(ExpectationReplication, ABackupSendsNoneAndABulkRemovesStaleOnes) {
  Pair p(0.0);
  p.net.node(1).local_expectation_upsert(ftp_expectation(41000, false, false));
  p.net.node(0).local_expectation_upsert(ftp_expectation(41001, false, false));
  p.net.run_for(1s);
  EXPECT_TRUE(p.net.node(0).peers().at(2)->expectations().empty()) << "a backup replicates nothing";
  ASSERT_EQ(p.held().size(), 1u);
  // The backup's copy of a vanished expectation goes with the next bulk.
  p.net.node(0).replace_local_expectations({});
  p.net.node(0).announce_table();
  p.net.run_for(1s);
  EXPECT_TRUE(p.held().empty());
}

}  // namespace
}  // namespace ctsync

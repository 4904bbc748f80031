// The kernel adapter for expectations against the real kernel: an FTP helper on a firewall
// namespace creates expectations when vsftpd answers PASV/EPSV; our events, dump, delete and
// create must see and reproduce them field by field, IPv4 and IPv6, with and without SNAT.
#include <gtest/gtest.h>

#include <algorithm>

#include "ctsync/expectation.hpp"
#include "ftp.hpp"
#include "kernel/conntrack_reader.hpp"
#include "kernel/expectation_events.hpp"
#include "kernel/kernel_expectations.hpp"
#include "routed_topology.hpp"

namespace ctsync {
namespace {

using test::Namespace;
using test::RoutedTopology;
using Ms = std::chrono::milliseconds;

std::string ruleset(bool snat) {
  std::string r = R"(
table inet fw {
  ct helper ftp-standard { type "ftp" protocol tcp; }
  chain forward {
    type filter hook forward priority filter; policy accept;
    tcp dport 21 ct state new ct helper set "ftp-standard"
  }
)";
  if (snat) {
    r += R"(
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr 10.1.0.0/24 snat ip to 10.2.0.1
    oifname "wan" ip6 saddr fd01::/64 snat ip6 to fd02::1
  }
)";
  }
  return r + "}\n";
}

template <typename T>
T opened(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message);
  return std::move(*r);
}

template <typename T>
T in_namespace(const Namespace& ns, Result<T> (*open)()) {
  test::EnterNamespace in(ns);
  return opened(open());
}

const Expectation* find(const std::vector<Expectation>& all, std::uint16_t port) {
  for (const auto& e : all) {
    if (e.expected.dst_port == port) return &e;
  }
  return nullptr;
}

// Everything but the timeout, which counts down.
void expect_same(const Expectation& a, const Expectation& b) {
  Expectation x = a, y = b;
  x.timeout = y.timeout = 0;
  EXPECT_EQ(x, y) << to_conntrack_string(a) << "\n" << to_conntrack_string(b);
}

class ExpectationAdapter : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ExpectationAdapter, EventsDumpDeleteAndCreateCarryEveryField) {
  const auto [v6, snat] = GetParam();
  RoutedTopology t;
  t.ruleset(ruleset(snat));
  const std::string dir = "/tmp/ctsync-expect-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{dir};
  test::FtpServer server(t.server, dir);

  auto events = [&] {
    test::EnterNamespace in(t.fw);
    return opened(ExpectationEvents::open(0));
  }();
  auto kernel = in_namespace(t.fw, &KernelExpectations::open);

  test::FtpClient client(t.client, v6 ? "fd02::2" : "10.2.0.2");
  const int port = client.passive();

  // The event.
  std::vector<std::pair<bool, Expectation>> seen;
  for (int i = 0; i < 50 && seen.empty(); ++i) {
    events.read([&](bool created, const Expectation& e) { seen.emplace_back(created, e); });
    std::this_thread::sleep_for(Ms(20));
  }
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_TRUE(seen[0].first);
  const Expectation& ev = seen[0].second;
  EXPECT_EQ(ev.expected.family, v6 ? Family::ipv6 : Family::ipv4);
  EXPECT_EQ(ev.expected.protocol, proto::tcp);
  EXPECT_EQ(ev.expected.dst_port, port);
  EXPECT_EQ(to_string(ev.expected.family, ev.expected.dst), v6 ? "fd02::2" : "10.2.0.2");
  EXPECT_EQ(ev.master.original.dst_port, 21);
  EXPECT_EQ(to_string(ev.master.original.family, ev.master.original.src),
            v6 ? "fd01::2" : "10.1.0.2");
  EXPECT_EQ(ev.helper, "ftp");
  EXPECT_EQ(ev.mask.dst_port, 0xffff);
  EXPECT_GT(ev.timeout, 0u);
  // nf_nat_ftp makes the data connection follow the master's NAT.
  EXPECT_EQ(ev.function, snat ? "nat-follow-master" : "");
  EXPECT_EQ(ev.has_nat, snat);

  // The dump agrees with the event.
  auto all = opened(kernel.dump());
  const Expectation* dumped = find(all, static_cast<std::uint16_t>(port));
  ASSERT_NE(dumped, nullptr);
  expect_same(*dumped, ev);
  const std::string listing =
      t.fw.output(std::string("conntrack -L expect -f ") + (v6 ? "ipv6" : "ipv4") + " 2>/dev/null");
  EXPECT_NE(listing.find("dport=" + std::to_string(port)), std::string::npos) << listing;

  // Delete, then create it again from the model: the kernel holds the same expectation.
  const Expectation copy = *dumped;
  ASSERT_TRUE(kernel.remove(copy.key()).ok());
  const auto after_delete = opened(kernel.dump());
  EXPECT_EQ(find(after_delete, static_cast<std::uint16_t>(port)), nullptr);
  auto created = kernel.create(copy);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const auto after_create = opened(kernel.dump());
  const Expectation* again = find(after_create, static_cast<std::uint16_t>(port));
  ASSERT_NE(again, nullptr);
  expect_same(*again, copy);
  EXPECT_TRUE(kernel.create(copy).ok()) << "an existing expectation counts as created";

  // The data connection still comes in through the expectation we created, and the file
  // arrives whole.
  const auto data = client.retrieve(Ms(3000));
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, server.content());
}

TEST(ExpectationAdapterErrors, CreatingWithoutTheMasterNamesWhatFailed) {
  RoutedTopology t;
  auto kernel = in_namespace(t.fw, &KernelExpectations::open);
  Expectation e;
  e.master.original.family = e.expected.family = e.mask.family = Family::ipv4;
  e.master.original.protocol = e.expected.protocol = e.mask.protocol = proto::tcp;
  e.master.original.src = IpAddress::v4(10, 1, 0, 2);
  e.master.original.dst = e.expected.dst = IpAddress::v4(10, 2, 0, 2);
  e.expected.src = IpAddress::v4(10, 1, 0, 2);
  e.master.original.src_port = 40000;
  e.master.original.dst_port = 21;
  e.expected.dst_port = 41000;
  std::fill_n(e.mask.src.bytes.begin(), 4, 0xff);
  std::fill_n(e.mask.dst.bytes.begin(), 4, 0xff);
  e.mask.dst_port = 0xffff;
  e.helper = "ftp";
  auto r = kernel.create(e);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("master"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("10.2.0.2"), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Families, ExpectationAdapter,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param) ? "ipv6" : "ipv4") +
                                  (std::get<1>(p.param) ? "_snat" : "_routed");
                         });

}  // namespace
}  // namespace ctsync

namespace ctsync {
namespace {

// nf_nat_ftp rewrites an IPv6 EPRT through SNAT into a longer string (the kernel prints the
// address in full) and shifts the master's sequence numbers. The kernel sends no event for
// that; reading the master back shows it.
TEST(ExpectationAdapterSeqAdjust, ReadingTheMasterBackShowsTheShiftOfARewrittenEprt) {
  RoutedTopology t;
  t.ruleset(ruleset(true));
  const std::string dir = "/tmp/ctsync-seqadj-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{dir};
  test::FtpServer server(t.server, dir);
  auto reader = in_namespace(t.fw, &ConntrackReader::open);
  auto kernel = in_namespace(t.fw, &KernelExpectations::open);
  test::FtpClient client(t.client, "fd02::2");
  client.active();
  const auto all = opened(kernel.dump());
  ASSERT_EQ(all.size(), 1u);
  auto master = reader.get(all[0].master);
  ASSERT_TRUE(master.ok()) << master.error().message;
  ASSERT_TRUE(master->has_value());
  const Flow& m = **master;
  EXPECT_TRUE(m.status & status::seq_adjust);
  EXPECT_NE(m.seq_original.correction_pos, 0u);
  EXPECT_GT(m.seq_original.offset_after, 0) << "fd02::1 printed in full is longer";
  EXPECT_EQ(m.helper.view(), "ftp");

  // An entry the kernel does not have is nothing, not an error.
  FlowKey gone = all[0].master;
  gone.original.src_port ^= 1;
  auto none = reader.get(gone);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // The data connection still arrives whole through the rewritten command.
  const auto data = client.retrieve(Ms(3000));
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(*data, server.content());
}

}  // namespace
}  // namespace ctsync

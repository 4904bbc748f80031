// A pair upgraded to 0.2.0 one node at a time, as docs/operations.md section 8 says, with the
// real binary of release 0.1.0 (built from its commit by build_release.sh, label `slow`): it
// seals with the pre-shared key itself, reads nothing else, and knows no Packet.features.
// The new node reads both sealings and seals the old way while the old node is up; the table
// reaches the backup and a switchover commits it, in both directions; once both nodes run
// 0.2.0, only the derived key seals. The control: with sync.legacy_sealing = false the new
// node refuses the older release's datagrams and nothing replicates.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

std::uint64_t legacy_sent(const PairTopology& t, int node) {
  return t.stats(node)["sync"]["legacy_sealed_sent"].get<std::uint64_t>();
}
std::size_t kernel_count(const test::Namespace& ns) {
  return std::stoul(ns.output("conntrack -C"));
}

TEST(MixedRelease, APairUpgradedOneNodeAtATimeKeepsItsTableAcrossBothReleases) {
  test::PairOptions o;
  o.binary[0] = CTSYNC_OLD_RELEASE;
  PairTopology t(o);
  t.start_daemon(1);
  t.start_daemon(2);

  // 0.1.0 active, 0.2.0 backup.
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  constexpr std::size_t first = 200, second = 50;
  {
    ConntrackWriter w = test::writer_in(t.fw1);
    std::vector<WriteResult> r;
    ASSERT_TRUE(w.upsert(test::kernel_valid_flows(first, 4200, 1), r).ok());
  }
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.external_count(2) == first && t.ctl(2, "ready") == 0; }, 15000ms))
      << t.external_count(2) << "\n"
      << t.d2.log();
  const auto s2 = t.stats(2);
  EXPECT_GT(s2["sync"]["legacy_sealed_received"].get<std::uint64_t>(), 0u);
  EXPECT_GT(s2["sync"]["legacy_sealed_sent"].get<std::uint64_t>(), 0u);
  EXPECT_LE(t.stats(1)["dropped"]["bad_version"].get<std::uint64_t>(), 10u)
      << "only what the new node sent before it first heard the old one";

  // Switchover to the upgraded node: it commits the old node's table.
  const std::size_t in_fw2 = kernel_count(t.fw2);
  ASSERT_EQ(t.ctl(1, "demote"), 0);
  ASSERT_EQ(t.ctl(2, "promote"), 0) << t.d2.log();
  EXPECT_GE(kernel_count(t.fw2), in_fw2 + first);

  // The old node follows the new active one.
  {
    ConntrackWriter w = test::writer_in(t.fw2);
    std::vector<WriteResult> r;
    ASSERT_TRUE(w.upsert(test::kernel_valid_flows(second, 4600, 1), r).ok());
  }
  ASSERT_TRUE(
      PairTopology::wait_for([&] { return t.external_count(1) >= first + second; }, 15000ms))
      << t.external_count(1) << "\n"
      << t.d1.log();

  // The old node upgraded in place: both run 0.2.0, the derived key alone seals.
  ASSERT_EQ(t.d1.kill(SIGTERM), 0);
  t.set_binary(1, CTSYNCD_PATH);
  t.start_daemon(1);
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl(1, "ready") == 0 && t.external_count(1) >= first + second; }, 15000ms))
      << t.d1.log();
  const auto from_fw2 = legacy_sent(t, 2);
  std::this_thread::sleep_for(1500ms);  // heartbeats every 100 ms both ways
  EXPECT_EQ(legacy_sent(t, 2), from_fw2) << "fw2 stopped sealing with the key itself";
  EXPECT_EQ(legacy_sent(t, 1), 0u);

  // And back: the upgraded fw1 takes over from fw2 with the whole table.
  const std::size_t in_fw1 = kernel_count(t.fw1);
  ASSERT_EQ(t.ctl(2, "demote"), 0);
  ASSERT_EQ(t.ctl(1, "promote"), 0) << t.d1.log();
  EXPECT_GE(kernel_count(t.fw1), in_fw1 + second) << "the flows opened on fw2 committed";
  EXPECT_GE(kernel_count(t.fw1), first + second);
}

TEST(MixedRelease, NegativeControlWithLegacySealingOffTheOlderReleaseIsRefused) {
  test::PairOptions o;
  o.binary[0] = CTSYNC_OLD_RELEASE;
  PairTopology t(o);
  t.start_daemon(1);
  t.start_daemon_with(2, t.config_with_sync(2, "legacy_sealing = false\n", "strict2.toml"));

  ASSERT_EQ(t.ctl(1, "promote"), 0);
  {
    ConntrackWriter w = test::writer_in(t.fw1);
    std::vector<WriteResult> r;
    ASSERT_TRUE(w.upsert(test::kernel_valid_flows(20, 4800, 1), r).ok());
  }
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.stats(2)["dropped"]["bad_version"].get<std::uint64_t>() >= 10; }, 10000ms));
  EXPECT_EQ(t.external_count(2), 0u);
  EXPECT_EQ(legacy_sent(t, 2), 0u);
}

}  // namespace
}  // namespace ctsync

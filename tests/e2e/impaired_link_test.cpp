// The sync link at its worst while the active node's table keeps changing: 20 % loss and 10 %
// duplication (nftables on the relay), reordering with up to 50 ms of jitter (a user-space
// relay), and a 30 s partition that heals. Afterwards the backup's copy and the active node's
// internal cache both equal the active node's kernel table in every field, nothing stale.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "flow_compare.hpp"
#include "flow_factory.hpp"
#include "kernel/conntrack_writer.hpp"
#include "pair_topology.hpp"
#include "udp_relay.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;

nlohmann::json flows_of(const PairTopology& t, int node, const char* table) {
  auto j = nlohmann::json::parse(t.ctl_output(node, std::string("flows --json --") + table),
                                 nullptr, false);
  return j.is_discarded() ? nlohmann::json::array() : j;
}

TEST(ImpairedLink, CopiesEqualTheKernelAfterLossDuplicationReorderingAndAPartition) {
  PairOptions o;
  o.sync_relay = true;
  PairTopology t(o);
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  test::UdpRelay relay(*t.relay, "10.10.3.1", "10.10.3.2", "10.10.5.1", "10.10.5.3", 3780, 50ms);
  t.relay->must(
      "nft add table netdev impair && "
      "nft add chain netdev impair in1 { type filter hook ingress device to1 priority 0 \\; } && "
      "nft add chain netdev impair in2 { type filter hook ingress device to2 priority 0 \\; } && "
      "nft add rule netdev impair in1 numgen random mod 100 \\< 20 drop && "
      "nft add rule netdev impair in2 numgen random mod 100 \\< 20 drop && "
      "nft add chain netdev impair out1 { type filter hook egress device to1 priority 0 \\; } && "
      "nft add chain netdev impair out2 { type filter hook egress device to2 priority 0 \\; } && "
      "nft add rule netdev impair out1 numgen random mod 100 \\< 10 dup to to1 && "
      "nft add rule netdev impair out2 numgen random mod 100 \\< 10 dup to to2");

  auto writer = [&] {
    test::EnterNamespace in(t.fw1);
    auto w = ConntrackWriter::open({});
    if (!w) throw std::runtime_error(w.error().message);
    return std::move(*w);
  }();

  // A live load: flows created, updated (new marks) and destroyed all along.
  std::mt19937_64 rng(5);
  std::vector<Flow> live = test::kernel_valid_flows(3000, 61);
  std::vector<WriteResult> r;
  ASSERT_TRUE(writer.upsert(live, r).ok());
  std::uint32_t serial = 100000;
  const auto start = std::chrono::steady_clock::now();
  bool cut = false, healed = false;
  while (std::chrono::steady_clock::now() - start < 45s) {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (!cut && elapsed > 5s) {
      relay.set_partitioned(true);
      cut = true;
    }
    if (cut && !healed && elapsed > 35s) {
      relay.set_partitioned(false);
      healed = true;
    }
    auto fresh = test::kernel_valid_flows(5, rng(), serial);
    serial += 5;
    ASSERT_TRUE(writer.upsert(fresh, r).ok());
    live.insert(live.end(), fresh.begin(), fresh.end());
    std::vector<ConntrackWriter::Op> ops;
    std::vector<Flow> changed;
    changed.reserve(2);
    for (int i = 0; i < 2; ++i) {
      Flow f = live[rng() % live.size()];
      f.mark = static_cast<std::uint32_t>(rng());
      changed.push_back(f);
    }
    for (const auto& f : changed) ops.push_back({WriteKind::update, &f});
    std::vector<int> errors;
    ASSERT_TRUE(writer.apply(ops, errors).ok());
    std::vector<FlowKey> gone;
    for (int i = 0; i < 3; ++i) {
      const std::size_t k = rng() % live.size();
      gone.push_back(live[k].key);
      live[k] = live.back();
      live.pop_back();
    }
    ASSERT_TRUE(writer.remove(gone, errors).ok());
    std::this_thread::sleep_for(10ms);
  }

  // The load stops; the protocol settles.
  std::string diff_backup, diff_active;
  const bool converged = PairTopology::wait_for(
      [&] {
        const auto kernel = test::as_json(test::kernel_flows(t.fw1));
        diff_backup = test::compare(kernel, flows_of(t, 2, "external"), 120);
        diff_active = test::compare(kernel, flows_of(t, 1, "internal"), 120);
        return diff_backup.empty() && diff_active.empty();
      },
      60000ms);
  EXPECT_TRUE(converged) << "backup: " << diff_backup << "\nactive: " << diff_active;
  const std::string stats = t.ctl_output(2, "stats --json");
  const auto s = nlohmann::json::parse(stats);
  EXPECT_GT(s["dropped"]["duplicate"].get<int>() + s["sync"]["gaps_repaired"].get<int>(), 0)
      << stats;
  std::printf(
      "[ impaired link ] %llu datagrams relayed; backup: %d gaps repaired, %d unrepairable, %d "
      "bulks\n",
      static_cast<unsigned long long>(relay.forwarded()), s["sync"]["gaps_repaired"].get<int>(),
      s["sync"]["gaps_unrepairable"].get<int>(), s["sync"]["bulks_completed"].get<int>());
}

}  // namespace
}  // namespace ctsync

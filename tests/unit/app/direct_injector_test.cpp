#include <gtest/gtest.h>

#include "flow_factory.hpp"
#include "harness.hpp"

namespace ctsync {
namespace {

TEST(DirectInjector, ShortLivedEntriesAreWrittenAgainBeforeTheKernelExpiresThem) {
  auto s = test::Pair::small_batches();
  s.mode = CacheMode::direct;
  test::Pair p(s);
  Flow udp = test::addressed_flow("10.1.0.1", "10.2.0.1", proto::udp);
  udp.timeout = 30;
  p.peer->local_upsert(udp);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.machine.kernel.find(udp.key) != nullptr; }));
  const TimePoint start = p.loop.now();
  p.run(seconds(65));
  // The active node sends nothing while the flow is quiet: only the refreshes keep the
  // backup's entry from expiring. No gap between two writes may reach its timeout.
  std::vector<TimePoint> writes;
  const auto& k = p.machine.kernel;
  for (std::size_t i = 0; i < k.written.size(); ++i)
    if (k.written[i] == udp.key) writes.push_back(k.written_at[i]);
  ASSERT_FALSE(writes.empty());
  writes.push_back(p.loop.now());
  TimePoint last = start;
  for (TimePoint t : writes) {
    EXPECT_LT(t - last, seconds(30));
    last = t;
  }
  EXPECT_GE(p.node->injector->stats().refreshed, 3u);
}

TEST(DirectInjector, AFlowThePeerEndsLeavesTheKernel) {
  auto s = test::Pair::small_batches();
  s.mode = CacheMode::direct;
  test::Pair p(s);
  auto flows = test::kernel_valid_flows(5, 9);
  for (const Flow& f : flows) p.peer->local_upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.machine.kernel.table().size() == 5; }));
  p.peer->local_erase(flows[2].key);
  ASSERT_TRUE(p.run_until([&] { return p.machine.kernel.table().size() == 4; }));
  EXPECT_EQ(p.machine.kernel.find(flows[2].key), nullptr);
}

}  // namespace
}  // namespace ctsync

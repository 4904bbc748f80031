#include <gtest/gtest.h>

#include <map>
#include <unordered_map>

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
  ASSERT_TRUE(p.run_until([&] { return p.machine.kernel.find(udp.key).has_value(); }));
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
  EXPECT_FALSE(p.machine.kernel.find(flows[2].key));
}

// Three nodes: the copy of a node that crashed and the copy of the node that took over from it
// hold the same connection. It leaves the kernel only when no copy holds it any more.
TEST(DirectInjector, AFlowLeavingOneCopyStaysWhileAnotherCopyHoldsIt) {
  test::SimScheduler loop;
  test::FakeKernel kernel(loop);
  app::DirectInjector injector(loop, kernel, 64, seconds(10));
  struct KeyHash {
    std::size_t operator()(const FlowKey& k) const { return hash_key(k); }
  };
  std::map<std::uint32_t, std::unordered_map<FlowKey, Flow, KeyHash>> copies;
  auto name = [](const FlowKey& k) { return k; };
  injector.set_lookup([&](std::uint32_t peer, const FlowKey& key) -> std::optional<Flow> {
    auto it = copies[peer].find(name(key));
    if (it == copies[peer].end()) return std::nullopt;
    return it->second;
  });
  injector.set_other_holder([&](std::uint32_t except, const FlowKey& key) -> std::uint32_t {
    for (const auto& [peer, flows] : copies) {
      if (peer != except && flows.count(name(key)) != 0) return peer;
    }
    return 0;
  });
  injector.set_enabled(true);
  const Flow f = test::addressed_flow("10.1.0.1", "10.2.0.1");
  Flow newer = f;
  newer.timeout = 300;
  copies[1][name(f.key)] = f;
  injector.peer_flow_upserted(1, f);
  copies[2][name(f.key)] = newer;
  injector.peer_flow_upserted(2, newer);
  loop.run();
  ASSERT_TRUE(kernel.find(f.key));

  copies[1].erase(name(f.key));  // node 1's stale copy is dropped
  injector.peer_flow_erased(1, f);
  loop.run();
  ASSERT_TRUE(kernel.find(f.key)) << "node 2's copy still holds it";
  EXPECT_EQ(kernel.find(f.key)->timeout, 300u) << "as node 2's copy has it";

  copies[2].erase(name(f.key));  // node 2 closed it
  injector.peer_flow_erased(2, newer);
  loop.run();
  EXPECT_FALSE(kernel.find(f.key));
}

}  // namespace
}  // namespace ctsync

// The kernel mirror on a fake kernel: the internal cache follows the table through events,
// lost events and passes.
#include <gtest/gtest.h>

#include "flow_factory.hpp"
#include "harness.hpp"

namespace ctsync {
namespace {

using test::Pair;

bool cache_equals_kernel(const Pair& p) {
  const auto& local = p.node->engine->local();
  if (local.size() != p.machine.kernel.table().size()) return false;
  for (const auto& e : p.machine.kernel.table()) {
    const auto mine = local.find(e.flow.key);
    if (!mine || mine->flow.timeout != e.flow.timeout) return false;
  }
  return true;
}

TEST(KernelMirror, TheFirstPassReadsTheWholeTable) {
  Pair p;
  for (const Flow& f : test::kernel_valid_flows(250, 2)) p.machine.kernel.table().upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  EXPECT_TRUE(cache_equals_kernel(p));
  EXPECT_EQ(p.node->counters.resyncs, 1u);
}

TEST(KernelMirror, EventsKeepTheInternalCacheEqualToTheKernel) {
  Pair p;
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  auto flows = test::kernel_valid_flows(30, 4);
  for (const Flow& f : flows) p.machine.kernel.traffic_creates(f);
  p.run(milliseconds(10));
  flows[3].timeout = 17;
  p.machine.kernel.traffic_updates(flows[3]);
  p.machine.kernel.expires(flows[5].key);
  p.run(milliseconds(10));
  EXPECT_TRUE(cache_equals_kernel(p));
  EXPECT_EQ(p.node->counters.events_new, 30u);
  EXPECT_EQ(p.node->counters.events_update, 1u);
  EXPECT_EQ(p.node->counters.events_destroy, 1u);
  const auto updated = p.node->engine->local().find(flows[3].key);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->flow.timeout, 17u);
}

TEST(KernelMirror, AnOverrunStartsAPassThatEndsWithTheCopyEqualToTheKernel) {
  Pair p;
  auto flows = test::kernel_valid_flows(100, 5);
  for (std::size_t i = 0; i < 60; ++i) p.machine.kernel.table().upsert(flows[i]);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  // Forty creations and ten ends are lost with the overrun.
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < 10; ++i) gone.push_back(flows[i].key);
  p.machine.kernel.lose_events_then_overrun({flows.begin() + 60, flows.end()}, gone);
  p.run(milliseconds(50));
  EXPECT_EQ(p.node->counters.overruns, 1u);
  EXPECT_EQ(p.node->counters.resyncs, 2u);
  EXPECT_EQ(p.node->counters.flows_swept, 10u);
  EXPECT_TRUE(cache_equals_kernel(p));
}

TEST(KernelMirror, PassesAskedForDuringAPassAreMergedIntoOne) {
  Pair p;
  for (const Flow& f : test::kernel_valid_flows(500, 6)) p.machine.kernel.table().upsert(f);
  p.node->start();
  int answered = 0;
  for (int i = 0; i < 3; ++i) p.node->mirror->pass([&] { ++answered; });
  ASSERT_TRUE(p.run_until([&] { return answered == 3; }));
  EXPECT_EQ(p.machine.kernel.dumps, 2u) << "the first pass, then one for the three requests";
}

TEST(KernelMirror, FilteredFlowsStayOutOfTheCache) {
  Pair p;
  FilterRules rules;
  rules.ignore_addresses.push_back(*parse_cidr("10.9.0.0/16"));
  p.node->mirror->set_filter(FlowFilter(rules, {}));
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  p.machine.kernel.traffic_creates(test::addressed_flow("10.9.1.1", "10.2.0.1"));
  p.machine.kernel.traffic_creates(test::addressed_flow("10.8.1.1", "10.2.0.1"));
  p.run(milliseconds(10));
  EXPECT_EQ(p.node->engine->local().size(), 1u);
  EXPECT_EQ(p.node->counters.events_ignored, 1u);
}

TEST(KernelMirror, AnExpectationMakesTheMasterBeReadBackForItsSequenceShift) {
  Pair p;
  Flow master = test::addressed_flow("10.1.0.1", "10.2.0.1");
  master.key.original.src_port = 40000;
  master.key.original.dst_port = 21;
  master.reply = invert(master.key.original);
  master.helper = HelperName("ftp");
  p.machine.kernel.table().upsert(master);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  // The helper rewrote a PORT command: the kernel shifted the sequence numbers, no event.
  Flow shifted = master;
  shifted.seq_original.offset_after = 3;
  p.machine.kernel.table().upsert(shifted);
  Expectation e;
  e.master = master.key;
  e.expected = master.key.original;
  e.expected.dst_port = 20;
  e.helper = "ftp";
  p.machine.kernel.expectation_appears(e);
  p.run(milliseconds(10));
  const auto before = p.node->engine->local().find_flow(master.key);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->seq_original.offset_after, 0);
  p.run(milliseconds(30));
  const auto after = p.node->engine->local().find_flow(master.key);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->seq_original.offset_after, 3);
  EXPECT_EQ(p.node->engine->local_expectations().size(), 1u);
}

TEST(KernelMirror, APurgeWaitsForTheRunningPassAndWritesInChunks) {
  Pair p;
  auto flows = test::kernel_valid_flows(400, 8);
  for (const Flow& f : flows) p.machine.kernel.table().upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  const std::uint32_t epoch = p.node->engine->begin_local_epoch();
  bool passed = false;
  std::optional<WriteReport> report;
  p.node->mirror->pass([&] { passed = true; });
  p.node->mirror->purge(PurgePlan{30, epoch}, [&](const WriteReport& r) {
    EXPECT_TRUE(passed) << "the purge ran beside the pass on the one dump socket";
    report = r;
  });
  ASSERT_TRUE(p.run_until([&] { return report.has_value(); }));
  EXPECT_EQ(p.machine.kernel.dumps, 3u);
  EXPECT_EQ(report->updated, 400u);
  for (const auto& e : p.machine.kernel.table()) EXPECT_EQ(e.flow.timeout, 30u);
}

TEST(KernelMirror, TwoPurgesInARowEachReportTheirOwnWrites) {
  Pair p;
  for (const Flow& f : test::kernel_valid_flows(120, 10)) p.machine.kernel.table().upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  const std::uint32_t epoch = p.node->engine->begin_local_epoch();
  std::optional<WriteReport> first, second;
  p.node->mirror->purge(PurgePlan{30, epoch}, [&](const WriteReport& r) { first = r; });
  p.node->mirror->purge(PurgePlan{10, epoch}, [&](const WriteReport& r) { second = r; });
  ASSERT_TRUE(p.run_until([&] { return second.has_value(); }));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->updated, 120u);
  EXPECT_EQ(second->updated, 120u);
  EXPECT_EQ(p.node->counters.purges, 2u);
  for (const auto& e : p.machine.kernel.table()) EXPECT_EQ(e.flow.timeout, 10u);
}

}  // namespace
}  // namespace ctsync

// The takeover gate on a fake kernel and a fake packet queue, with simulated time: a packet
// reaching a backup or a node taking over goes on only once the kernel holds its flow, by
// whichever direction it arrives, ahead of any commit; everything else goes straight on; the
// queue is closed once the node is active and committed; what was written early and not
// followed by a promotion ages out; each takeover's report is kept across a restart.
#include <gtest/gtest.h>

#include "flow_factory.hpp"
#include "harness.hpp"

namespace ctsync {
namespace {

using test::Pair;

// n SNATed TCP flows: client 10.1.0.5 -> server 192.0.2.7:443, leaving as 198.51.100.1.
std::vector<Flow> snat_flows(std::size_t n) {
  std::vector<Flow> out;
  for (std::size_t i = 0; i < n; ++i) {
    Flow f = test::addressed_flow("10.1.0.5", "192.0.2.7");
    f.key.original.src_port = static_cast<std::uint16_t>(30000 + i);
    f.key.original.dst_port = 443;
    f.reply = invert(f.key.original);
    f.reply.dst = *parse_address(Family::ipv4, "198.51.100.1");
    f.reply.dst_port = static_cast<std::uint16_t>(50000 + i);
    f.status = status::src_nat | status::seen_reply | status::assured;
    f.timeout = 3600;
    out.push_back(f);
  }
  return out;
}

// The peer holds the flows; the node under test is a started backup with a complete copy.
void backup_with_copy(Pair& p, const std::vector<Flow>& flows) {
  for (const Flow& f : flows) p.peer->local_upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started && p.external() == flows.size(); }));
}

TEST(TakeoverGate, APeersFlowIsInTheKernelBeforeItsPacketGoesOnWhicheverWayItArrives) {
  Pair p;
  const auto flows = snat_flows(3);
  // Negative control: nobody listens yet, the packet meets an empty table.
  const auto before = p.machine.queue.arrives(flows[0].key.original);
  EXPECT_EQ(p.machine.queue.found_flow(before), false);

  backup_with_copy(p, flows);
  ASSERT_TRUE(p.machine.queue.listening()) << "a backup listens";
  const auto out = p.machine.queue.arrives(flows[0].key.original);
  EXPECT_EQ(p.machine.queue.found_flow(out), true);
  // The server's answer to a SNATed connection carries the reply tuple.
  const auto back = p.machine.queue.arrives(flows[1].reply);
  EXPECT_EQ(p.machine.queue.found_flow(back), true);
  EXPECT_EQ(p.machine.kernel.table().size(), 2u) << "only the flows whose packets came";
  EXPECT_EQ(p.node->gate->hold().counters().flows_written, 2u);

  Flow stranger = test::addressed_flow("10.1.0.9", "192.0.2.7");
  stranger.key.original.src_port = 1234;
  stranger.key.original.dst_port = 80;
  const auto other = p.machine.queue.arrives(stranger.key.original);
  EXPECT_EQ(p.machine.queue.found_flow(other), false) << "a flow nobody knows goes on at once";
  EXPECT_EQ(p.machine.kernel.table().size(), 2u);
}

TEST(TakeoverGate, PacketsOfAFlowArrivingTogetherCostOneWrite) {
  Pair p;
  const auto flows = snat_flows(2);
  backup_with_copy(p, flows);
  const auto a = p.machine.queue.arrives(flows[0].key.original, false);
  const auto b = p.machine.queue.arrives(flows[0].reply, false);
  EXPECT_TRUE(p.machine.queue.queued(a));
  p.machine.queue.end_of_read();
  EXPECT_EQ(p.machine.queue.found_flow(a), true);
  EXPECT_EQ(p.machine.queue.found_flow(b), true);
  EXPECT_EQ(p.machine.kernel.written.size(), 1u);
  const auto c = p.machine.queue.arrives(flows[0].key.original);
  EXPECT_EQ(p.machine.queue.found_flow(c), true);
  EXPECT_EQ(p.machine.kernel.written.size(), 1u) << "written once; later packets go straight on";
}

TEST(TakeoverGate, AFlowWhosePacketArrivesDuringTheCommitIsWrittenAheadOfIt) {
  Pair p;
  const auto flows = snat_flows(1000);
  backup_with_copy(p, flows);
  p.node->request(Role::active);
  p.loop.run_one();  // one batch of 50
  ASSERT_LT(p.machine.kernel.table().size(), 1000u);
  const auto id = p.machine.queue.arrives(flows[999].reply);
  EXPECT_EQ(p.machine.queue.found_flow(id), true) << "the last flow of the plan, written first";
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_EQ(p.machine.kernel.table().size(), 1000u);
  EXPECT_EQ(
      std::count(p.machine.kernel.written.begin(), p.machine.kernel.written.end(), flows[999].key),
      1)
      << "the commit skips a flow written on demand: the kernel's entry is live";
  EXPECT_FALSE(p.machine.queue.listening()) << "active and committed: no user-space path";
}

TEST(TakeoverGate, TheCommitLeavesAnOnDemandEntryAsTheTrafficMadeIt) {
  Pair p;
  const auto flows = snat_flows(10);
  backup_with_copy(p, flows);
  p.machine.queue.arrives(flows[4].key.original);
  // The traffic moves the entry on (the kernel's state is newer than the peer's copy).
  Flow live = *p.machine.kernel.find(flows[4].key);
  live.mark = 99;
  p.machine.kernel.table().upsert(live);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.node->reply->ok);
  EXPECT_EQ(p.machine.kernel.find(flows[4].key)->mark, 99u);
}

TEST(TakeoverGate, EarlyWritesWithNoPromotionGetThePurgeTimeout) {
  Pair p;
  const auto flows = snat_flows(2);
  backup_with_copy(p, flows);
  p.machine.queue.arrives(flows[0].key.original);
  ASSERT_EQ(p.machine.kernel.find(flows[0].key)->timeout, 3600u);
  p.run(seconds(4));
  EXPECT_EQ(p.machine.kernel.find(flows[0].key)->timeout, 3600u);
  p.run(seconds(2));
  EXPECT_EQ(p.machine.kernel.find(flows[0].key)->timeout, p.settings.purge_timeout)
      << "stray traffic, no promotion: what was written early must not outlive its reason";
}

TEST(TakeoverGate, AWriteFollowedByAPromotionKeepsItsTimeout) {
  Pair p;
  const auto flows = snat_flows(2);
  backup_with_copy(p, flows);
  p.machine.queue.arrives(flows[0].key.original);
  p.run(seconds(1));
  p.node->request(Role::active);  // keepalived's notify, a second after the addresses moved
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  p.run(seconds(10));
  EXPECT_EQ(p.machine.kernel.find(flows[0].key)->timeout, 3600u);
}

TEST(TakeoverGate, SteppingDownListensAgainAndForgetsTheLastTakeover) {
  Pair p;
  const auto flows = snat_flows(4);
  backup_with_copy(p, flows);
  p.machine.queue.arrives(flows[0].key.original);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  ASSERT_FALSE(p.machine.queue.listening());
  p.node->request(Role::backup);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.machine.queue.listening());
  EXPECT_FALSE(p.node->gate->written_on_demand(flows[0].key));
}

TEST(TakeoverGate, DirectModeLetsInjectedFlowsGoStraightOn) {
  auto s = Pair::small_batches();
  s.mode = CacheMode::direct;
  Pair p(s);
  const auto flows = snat_flows(5);
  backup_with_copy(p, flows);
  ASSERT_TRUE(p.run_until([&] { return p.machine.kernel.table().size() == 5; }));
  const std::size_t writes = p.machine.kernel.written.size();
  const auto id = p.machine.queue.arrives(flows[2].reply);
  EXPECT_EQ(p.machine.queue.found_flow(id), true);
  EXPECT_EQ(p.machine.kernel.written.size(), writes) << "already injected: no second write";
  // A promotion stops the injector; what it wrote is still in the kernel.
  p.node->request(Role::active);
  ASSERT_TRUE(p.machine.queue.listening()) << "until the promotion's commit is done";
  const auto during = p.machine.queue.arrives(flows[3].key.original);
  EXPECT_EQ(p.machine.queue.found_flow(during), true);
  EXPECT_EQ(p.machine.kernel.written.size(), writes);
}

TEST(TakeoverGate, TheTakeoverReportIsKeptAcrossARestart) {
  Pair p;
  const auto flows = snat_flows(20);
  backup_with_copy(p, flows);
  p.machine.queue.arrives(flows[3].key.original);
  p.machine.queue.arrives(flows[4].reply);
  p.run(milliseconds(700));
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  const auto r = p.node->failover->takeovers().records();  // a copy: the node restarts
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(r[0].first_held_s.has_value());
  EXPECT_NEAR(*r[0].first_held_s, -0.7, 0.011) << "the addresses arrived before the promotion";
  EXPECT_EQ(r[0].flows_on_demand, 2u);
  EXPECT_EQ(r[0].flows_committed, 18u);
  EXPECT_EQ(r[0].packets_held, 2u);
  EXPECT_TRUE(r[0].commit_end_s.has_value());

  p.restart_node();
  EXPECT_EQ(p.node->failover->takeovers().records(), r);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  EXPECT_FALSE(p.machine.queue.listening()) << "restarted as active: the queue stays closed";
}

}  // namespace
}  // namespace ctsync

namespace ctsync {
namespace {

TEST(TakeoverCommit, FlowsTheStreamChangedSinceTheBulkAreWrittenFirst) {
  Pair p;
  auto flows = snat_flows(500);
  backup_with_copy(p, flows);
  // A bulk makes the copy complete (its order says nothing about activity).
  p.node->engine->request_resync(p.loop.now());
  ASSERT_TRUE(p.run_until([&] { return p.node->engine->peers().begin()->second->complete(); }));
  // After the copy is complete, the active node's traffic changes a few flows.
  for (std::size_t i : {400u, 7u, 250u}) {
    flows[i].mark = 5;
    p.peer->local_upsert(flows[i]);
  }
  p.run(milliseconds(50));
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  const auto& w = p.machine.kernel.written;
  ASSERT_EQ(w.size(), 500u);
  std::vector<FlowKey> first(w.begin(), w.begin() + 3);
  for (std::size_t i : {400u, 7u, 250u}) {
    EXPECT_NE(std::find(first.begin(), first.end(), flows[i].key), first.end()) << i;
  }
}

}  // namespace
}  // namespace ctsync

namespace ctsync {
namespace {

TEST(TakeoverReport, TheCommitStartIsWhenItStartedAndAFailedOnDemandWriteIsCommittedAgain) {
  auto s = Pair::small_batches();
  s.commit_delay = milliseconds(300);
  Pair p(s);
  const auto flows = snat_flows(10);
  backup_with_copy(p, flows);
  p.machine.kernel.fail_writes = true;  // the on-demand write fails
  const auto id = p.machine.queue.arrives(flows[2].key.original);
  EXPECT_EQ(p.machine.queue.found_flow(id), false) << "let go, as without the hold";
  p.machine.kernel.fail_writes = false;
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.machine.kernel.find(flows[2].key)) << "the commit wrote it";
  const auto& r = p.node->failover->takeovers().records().back();
  EXPECT_NEAR(r.commit_start_s, 0.3, 0.006);
  EXPECT_EQ(r.flows_on_demand, 0u);
  EXPECT_EQ(r.failed, 0u) << "written in the end: not a flow the takeover lost";
  EXPECT_EQ(r.flows_committed, 10u);
}

}  // namespace
}  // namespace ctsync

// The failover controller on a fake kernel and simulated time: whole failovers in
// milliseconds, each transition carried out as RoleMachine decides it.
#include <gtest/gtest.h>

#include "flow_factory.hpp"
#include "harness.hpp"

namespace ctsync {
namespace {

using test::Pair;

// The peer (active) holds `n` flows, the node has them all in its copy.
void fill_peer(Pair& p, std::size_t n, std::uint64_t seed = 7) {
  for (const Flow& f : test::kernel_valid_flows(n, seed)) p.peer->local_upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started && p.external() == n; }));
}

TEST(Failover, PromoteCommitsThePeersFlowsIntoTheKernel) {
  Pair p;
  fill_peer(p, 300);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.node->reply->ok) << p.node->reply->error;
  EXPECT_EQ(p.machine.kernel.table().size(), 300u);
  EXPECT_EQ(p.node->counters.commits, 1u);
  ASSERT_TRUE(p.node->counters.last_commit.has_value());
  EXPECT_EQ(p.node->counters.last_commit->created, 300u);
  EXPECT_EQ(p.machine.state.role, Role::active);
  EXPECT_FALSE(p.machine.state.pending);
  EXPECT_EQ(p.node->engine->role(), Role::active);
  // Read back as ours, then announced: the commit is in the internal cache.
  EXPECT_EQ(p.node->engine->local().size(), 300u);
}

TEST(Failover, PromoteWritesMastersBeforeTheConnectionsTheirHelpersExpected) {
  Pair p;
  auto flows = test::kernel_valid_flows(40, 3);
  for (std::size_t i = 0; i < flows.size(); ++i) {
    if (i % 4 == 0) flows[i].helper = HelperName("ftp");
    if (i % 4 == 1) flows[i].status |= status::expected;
  }
  // Expected connections first in the peer's table: a commit in table order would fail them.
  std::stable_partition(flows.begin(), flows.end(),
                        [](const Flow& f) { return (f.status & status::expected) != 0; });
  for (const Flow& f : flows) p.peer->local_upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.external() == flows.size(); }));
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.node->reply->ok) << p.node->reply->error;
  const auto& written = p.machine.kernel.written;
  ASSERT_EQ(written.size(), flows.size());
  bool seen_expected = false;
  for (const FlowKey& k : written) {
    const auto f = p.machine.kernel.find(k);
    ASSERT_TRUE(f) << "refused: its master was not there yet";
    const bool expected = (f->status & status::expected) != 0;
    EXPECT_FALSE(seen_expected && !expected) << "a master written after an expected connection";
    seen_expected = seen_expected || expected;
  }
}

TEST(Failover, ACommitKilledHalfWayIsRedoneAfterARestart) {
  Pair p;
  fill_peer(p, 1000);
  p.node->request(Role::active);
  // A few batches of 50, then kill -9.
  for (int i = 0; i < 4; ++i) p.loop.run_one();
  const std::size_t partial = p.machine.kernel.table().size();
  ASSERT_GT(partial, 0u);
  ASSERT_LT(partial, 1000u);
  ASSERT_TRUE(p.machine.state.pending);
  p.restart_node();
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return !p.machine.state.pending; }, seconds(60)));
  EXPECT_EQ(p.machine.kernel.table().size(), 1000u);
  EXPECT_EQ(p.node->failover->role(), Role::active);
  EXPECT_EQ(p.node->counters.commits, 1u);
}

TEST(Failover, SteppingDownWhileWaitingToRedoACommitCancelsTheRedo) {
  Pair p;
  fill_peer(p, 1000);
  p.node->request(Role::active);
  for (int i = 0; i < 4; ++i) p.loop.run_one();
  ASSERT_TRUE(p.machine.state.pending);
  p.restart_node();
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started; }));
  p.node->request(Role::backup);
  p.run(seconds(15));
  EXPECT_FALSE(p.machine.state.pending);
  EXPECT_EQ(p.node->counters.commits, 0u) << "a backup does not write its peers' flows";
  EXPECT_EQ(p.node->failover->role(), Role::backup);
}

TEST(Failover, ARestartAsActiveWithNoCommitPendingWritesNothing) {
  Pair p;
  p.machine.state.role = Role::active;
  p.peer->set_role(Role::backup, p.loop.now());
  p.restart_node();
  p.node->start();
  p.run(seconds(2));
  EXPECT_EQ(p.node->failover->role(), Role::active);
  EXPECT_TRUE(p.machine.kernel.written.empty());
  EXPECT_EQ(p.node->counters.commits, 0u);
  EXPECT_EQ(p.node->engine->role(), Role::active);
}

TEST(Failover, SteppingDownPurgesOnlyTheEntriesLeftFromItsTimeAsActive) {
  Pair p;
  fill_peer(p, 20);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  // Traffic of its own while active.
  Flow served = test::addressed_flow("10.1.0.1", "10.2.0.1");
  served.timeout = 432000;
  p.machine.kernel.traffic_creates(served);
  p.run(milliseconds(50));
  p.node->request(Role::backup);
  p.run(milliseconds(50));
  // A connection that starts after stepping down (to the node itself, say).
  Flow later = test::addressed_flow("10.1.0.9", "10.2.0.9");
  later.timeout = 432000;
  p.machine.kernel.traffic_creates(later);
  p.run(seconds(31));
  EXPECT_EQ(p.node->counters.purges, 1u);
  ASSERT_TRUE(p.machine.kernel.find(served.key));
  ASSERT_TRUE(p.machine.kernel.find(later.key));
  EXPECT_EQ(p.machine.kernel.find(served.key)->timeout, 30u);
  EXPECT_EQ(p.machine.kernel.find(later.key)->timeout, 432000u);
  for (const auto& e : p.machine.kernel.table())
    if (!(e.flow.key == later.key)) {
      EXPECT_LE(e.flow.timeout, 30u);
    }
}

TEST(Failover, APromotionBeforeThePurgeCancelsIt) {
  Pair p;
  fill_peer(p, 20);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  p.node->request(Role::backup);
  p.run(seconds(10));
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  p.run(seconds(40));
  EXPECT_EQ(p.node->counters.purges, 0u);
  for (const auto& e : p.machine.kernel.table()) EXPECT_EQ(e.flow.timeout, 3600u);
}

TEST(Failover, FaultFromActivePurgesToo) {
  Pair p;
  fill_peer(p, 10);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  p.node->request(Role::fault);
  p.run(seconds(31));
  EXPECT_EQ(p.node->counters.purges, 1u);
  EXPECT_EQ(p.machine.state.role, Role::fault);
}

TEST(Failover, DemotingDuringTheCommitCancelsIt) {
  Pair p;
  fill_peer(p, 2000);
  p.node->request(Role::active);
  for (int i = 0; i < 3; ++i) p.loop.run_one();
  p.node->failover->change_role(Role::backup, [](ControlReply) {});
  p.run(milliseconds(100));
  EXPECT_LT(p.machine.kernel.table().size(), 2000u);
  EXPECT_EQ(p.node->failover->role(), Role::backup);
  EXPECT_EQ(p.node->failover->running_commit(), nullptr);
}

TEST(Failover, ATableFullOfEntriesGivesAnIncompleteCommitCountedByErrno) {
  Pair p;
  fill_peer(p, 100);
  p.machine.kernel.max_entries = 60;
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_FALSE(p.node->reply->ok);
  EXPECT_NE(p.node->reply->error.find("commit incomplete"), std::string::npos);
  EXPECT_EQ(p.node->counters.commit_totals.failed, 40u);
  EXPECT_EQ(p.node->counters.commit_totals.failures[ENOMEM], 40u);
}

TEST(Failover, AnEntryWithAnotherNatBindingIsReplaced) {
  Pair p;
  fill_peer(p, 5);
  Flow clash = p.node->engine->peers().begin()->second->table().flow_at(0);
  clash.reply.dst.bytes[15] ^= 1;  // another binding for the same original tuple
  p.machine.kernel.table().upsert(clash);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_EQ(p.node->counters.commit_totals.replaced, 1u);
  EXPECT_EQ(p.node->counters.commit_totals.created, 4u);
}

TEST(Failover, ALargeCommitLeavesTheCreationEventsWhileItWrites) {
  Pair p;
  fill_peer(p, 200);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_EQ(p.machine.kernel.pauses, 1u);
  EXPECT_FALSE(p.machine.kernel.paused);
}

TEST(Failover, ASecondManualCommitIsRefusedWhileOneRuns) {
  Pair p;
  fill_peer(p, 500);
  std::optional<ControlReply> first, second;
  p.node->failover->commit_now([&](ControlReply r) { first = r; });
  p.node->failover->commit_now([&](ControlReply r) { second = r; });
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->ok);
  EXPECT_EQ(second->error, "a commit is already running");
  ASSERT_TRUE(p.run_until([&] { return first.has_value(); }));
  EXPECT_TRUE(first->ok);
}

TEST(Failover, PromotingAnActiveNodeChangesNothing) {
  Pair p;
  fill_peer(p, 10);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  const std::size_t writes = p.machine.kernel.written.size();
  p.node->request(Role::active);
  ASSERT_TRUE(p.node->reply.has_value());
  EXPECT_EQ(p.node->reply->body, "already active\n");
  p.run(seconds(1));
  EXPECT_EQ(p.machine.kernel.written.size(), writes);
  EXPECT_EQ(p.node->counters.role_changes, 1u);
}

TEST(Failover, DirectModeInjectsAsFlowsArriveAndAPromoteRetriesOnlyTheFailures) {
  auto s = Pair::small_batches();
  s.mode = CacheMode::direct;
  Pair p(s);
  p.machine.kernel.max_entries = 70;
  fill_peer(p, 100);
  p.run(milliseconds(100));
  EXPECT_EQ(p.machine.kernel.table().size(), 70u);
  EXPECT_EQ(p.node->injector->stats().failed, 30u);
  p.machine.kernel.max_entries = 1000;
  p.machine.kernel.written.clear();
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.node->reply->ok);
  EXPECT_EQ(p.machine.kernel.written.size(), 30u);
  EXPECT_EQ(p.machine.kernel.table().size(), 100u);
}

TEST(Failover, DirectModeStopsInjectingOnceActive) {
  auto s = Pair::small_batches();
  s.mode = CacheMode::direct;
  Pair p(s);
  fill_peer(p, 10);
  p.node->request(Role::active);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_FALSE(p.node->injector->enabled());
  p.node->request(Role::backup);
  EXPECT_TRUE(p.node->injector->enabled());
}

// Every transition from every role, in both cache modes: the node ends in the target role,
// remembers it, tells the engine and systemd, and commits exactly when it becomes active.
struct Transition {
  Role from, to;
  CacheMode mode;
};
class EveryTransition : public ::testing::TestWithParam<Transition> {};

TEST_P(EveryTransition, EndsInTheTargetRoleAndCommitsOnlyWhenBecomingActive) {
  const auto [from, to, mode] = GetParam();
  auto s = Pair::small_batches();
  s.mode = mode;
  Pair p(s);
  p.machine.state.role = from;
  p.restart_node();
  for (const Flow& f : test::kernel_valid_flows(10, 1)) p.peer->local_upsert(f);
  p.node->start();
  ASSERT_TRUE(p.run_until([&] { return p.node->started && p.external() == 10; }));
  const auto commits = p.node->counters.commits;
  p.node->request(to);
  ASSERT_TRUE(p.run_until([&] { return p.node->reply.has_value(); }));
  EXPECT_TRUE(p.node->reply->ok) << p.node->reply->error;
  EXPECT_EQ(p.node->failover->role(), to);
  EXPECT_EQ(p.node->engine->role(), to);
  if (from == to) {
    EXPECT_EQ(p.node->reply->body, "already " + std::string(role_name(to)) + "\n");
    EXPECT_EQ(p.node->counters.role_changes, 0u);
  } else {
    EXPECT_EQ(p.machine.state.role, to);
    EXPECT_EQ(p.node->statuses.back(), role_name(to));
    EXPECT_EQ(p.node->counters.role_changes, 1u);
  }
  EXPECT_EQ(p.node->counters.commits - commits, from != to && to == Role::active ? 1u : 0u);
  if (from != to && to == Role::active) {
    EXPECT_EQ(p.machine.kernel.table().size(), 10u);
  }
}

std::vector<Transition> all_transitions() {
  std::vector<Transition> v;
  for (CacheMode m : {CacheMode::external, CacheMode::direct})
    for (Role a : {Role::backup, Role::active, Role::fault})
      for (Role b : {Role::backup, Role::active, Role::fault}) v.push_back({a, b, m});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Roles, EveryTransition, ::testing::ValuesIn(all_transitions()),
                         [](const auto& param_info) {
                           const Transition& tr = param_info.param;
                           return std::string(role_name(tr.from)) + "_to_" +
                                  std::string(role_name(tr.to)) + "_" +
                                  (tr.mode == CacheMode::direct ? "direct" : "external");
                         });

}  // namespace
}  // namespace ctsync

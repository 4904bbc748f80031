// Three nodes on one simulated link: the copies a node keeps of nodes that were active once.
// After a second failover, what the next node commits must be the table of the node that was
// active last, not also the stale copy of the one before it.
#include <gtest/gtest.h>

#include <unordered_set>

#include "flow_factory.hpp"
#include "sim_network.hpp"

namespace ctsync {
namespace {

using sim::Network;

struct KeyHash {
  std::size_t operator()(const FlowKey& k) const { return hash_key(k); }
};
using KeySet = std::unordered_set<FlowKey, KeyHash>;

EngineConfig fast() {
  EngineConfig c;
  c.heartbeat_interval = milliseconds(100);
  c.peer_timeout = milliseconds(500);
  return c;
}

// What a promotion writes and then holds as its own: the flows of the copies it commits.
void promote(SyncEngine& e, TimePoint now) {
  e.set_role(Role::active, now);
  for (const PeerReplica* p : e.commit_sources()) {
    for (const auto& entry : p->table()) e.local_upsert(entry.flow);
  }
  e.takeover_complete();
  e.announce_table();
}

KeySet committed_by(const SyncEngine& e) {
  KeySet keys;
  for (const PeerReplica* p : e.commit_sources()) {
    for (const auto& entry : p->table()) keys.insert(entry.flow.key);
  }
  return keys;
}

KeySet local_keys(const SyncEngine& e) {
  KeySet keys;
  for (const auto& entry : e.local()) keys.insert(entry.flow.key);
  return keys;
}

struct Cluster {
  Network net{7, {}};
  std::vector<Flow> flows = test::kernel_valid_flows(60, 21);

  Cluster() {
    for (int i = 0; i < 3; ++i) net.add_node(fast());
    net.node(0).set_role(Role::active, net.now());
    net.node(0).takeover_complete();  // as a daemon that starts active does
    net.node(0).announce_table();
    for (int i = 0; i < 40; ++i) net.node(0).local_upsert(flows[i]);
    net.run_for(seconds(2));
  }
  SyncEngine& n(std::size_t i) { return net.node(i); }
};

TEST(Cluster, AfterTwoCrashesTheThirdNodeCommitsOnlyWhatTheSecondHeld) {
  Cluster c;
  ASSERT_EQ(c.n(2).external_size(), 40u);
  // Node 1 crashes; node 2 takes over, closes ten sessions, opens ten new ones.
  c.net.set_partitioned(0, true);
  c.net.run_for(seconds(1));
  promote(c.n(1), c.net.now());
  for (int i = 0; i < 10; ++i) c.n(1).local_erase(c.flows[i].key);
  for (int i = 40; i < 50; ++i) c.n(1).local_upsert(c.flows[i]);
  c.net.run_for(seconds(2));
  ASSERT_EQ(local_keys(c.n(1)).size(), 40u);

  // Node 3 follows node 2: its copy of node 1 is gone, its copy of node 2 is node 2's table.
  EXPECT_EQ(c.n(2).counters().copies_superseded, 1u);
  EXPECT_EQ(c.n(2).counters().flows_superseded, 40u);
  EXPECT_EQ(c.n(2).peers().at(1)->table().size(), 0u);
  EXPECT_EQ(c.n(2).external_size(), 40u);
  // Node 2 crashes: node 3 commits node 2's table, none of the ten closed sessions.
  c.net.set_partitioned(1, true);
  c.net.run_for(seconds(1));
  EXPECT_TRUE(committed_by(c.n(2)) == local_keys(c.n(1)))
      << committed_by(c.n(2)).size() << " flows, node 2 holds " << local_keys(c.n(1)).size();
  // Node 2, active and announced, dropped its own copy of node 1 as well.
  EXPECT_EQ(c.n(1).peers().at(1)->table().size(), 0u);
}

TEST(Cluster, ACopyStaysUntilTheNextActiveNodesWholeTableHasArrived) {
  Cluster c;
  c.net.set_partitioned(0, true);
  c.net.run_for(seconds(1));
  // Node 2 is promoted but has not announced its table (its commit is still running): node 3
  // keeps node 1's copy, and would commit both if node 2 died now.
  c.n(1).set_role(Role::active, c.net.now());
  c.net.run_for(seconds(2));
  // It answered node 3's request for its table with a bulk of what it held then.
  EXPECT_TRUE(c.n(2).peers().at(2)->complete());
  EXPECT_EQ(c.n(2).peers().at(1)->table().size(), 40u);
  EXPECT_EQ(c.n(2).counters().copies_superseded, 0u);
  EXPECT_EQ(committed_by(c.n(2)).size(), 40u);
}

// A table announced in an earlier reign does not stand for the next one: the node took over
// again, and what it takes over this time is not in that bulk.
TEST(Cluster, AWholeTableFromAnEarlierReignSupersedesNothing) {
  Cluster c;
  const std::size_t fourth = c.net.add_node(fast());
  c.net.run_for(seconds(1));
  c.net.set_partitioned(0, true);
  c.net.run_for(seconds(1));
  promote(c.n(1), c.net.now());
  c.net.run_for(seconds(2));
  // Node 2 steps down; node 4 is promoted and opens five sessions before its commit is done.
  c.n(1).set_role(Role::backup, c.net.now());
  c.n(fourth).set_role(Role::active, c.net.now());
  for (int i = 50; i < 55; ++i) c.n(fourth).local_upsert(c.flows[i]);
  c.net.run_for(seconds(1));
  ASSERT_EQ(c.n(2).peers().at(4)->table().size(), 5u);
  // Node 4 crashes; node 2 is promoted again and has not announced its table yet.
  c.net.set_partitioned(fourth, true);
  c.net.run_for(seconds(1));
  c.n(1).set_role(Role::active, c.net.now());
  c.net.run_for(milliseconds(300));
  EXPECT_EQ(c.n(2).peers().at(4)->table().size(), 5u);
}

// A commit that could not write every flow (a full kernel table): the table announced after it
// lacks some of what was taken over, so every copy of the crashed node stays, here for a
// `ctsyncctl commit` once there is room, on the third node for the next takeover.
TEST(Cluster, ATakeoverThatLeftFlowsUnwrittenSupersedesNothing) {
  Cluster c;
  c.net.set_partitioned(0, true);
  c.net.run_for(seconds(1));
  c.n(1).set_role(Role::active, c.net.now());
  for (const auto& entry : c.n(1).peers().at(1)->table()) {
    if (c.n(1).local().size() < 30) c.n(1).local_upsert(entry.flow);
  }
  c.n(1).announce_table();
  c.net.run_for(seconds(2));
  EXPECT_EQ(c.n(1).peers().at(1)->table().size(), 40u);
  EXPECT_EQ(c.n(2).peers().at(1)->table().size(), 40u);
  EXPECT_EQ(c.n(2).counters().copies_superseded, 0u);
  // Room again: the commit is done again, completely, and only then the copies go.
  for (const auto& entry : c.n(1).peers().at(1)->table()) c.n(1).local_upsert(entry.flow);
  c.n(1).takeover_complete();
  c.n(1).announce_table();
  c.net.run_for(seconds(2));
  EXPECT_EQ(c.n(1).peers().at(1)->table().size(), 0u);
  EXPECT_EQ(c.n(2).peers().at(1)->table().size(), 0u);
}

TEST(Cluster, NoCopyIsDroppedWhileItsNodeIsStillActive) {
  Cluster c;
  // A moment of split brain: node 2 promoted while node 1 is active and heard.
  promote(c.n(1), c.net.now());
  c.net.run_for(seconds(2));
  EXPECT_EQ(c.n(2).peers().at(1)->table().size(), 40u);
  EXPECT_EQ(c.n(1).peers().at(1)->table().size(), 40u);
  EXPECT_EQ(c.n(2).counters().copies_superseded, 0u);
}

TEST(Cluster, TheNodeThatStepsDownAfterASplitBrainLeavesNoCopyBehind) {
  Cluster c;
  promote(c.n(1), c.net.now());
  c.n(1).local_upsert(c.flows[55]);  // a session through the loser during the split
  c.net.run_for(seconds(2));
  c.n(1).set_role(Role::backup, c.net.now());
  for (int i = 0; i < 5; ++i) c.n(0).local_erase(c.flows[i].key);
  c.net.run_for(seconds(2));
  // Node 3's copies are node 1's table alone; node 1 dropped its copy of node 2 too.
  EXPECT_EQ(c.n(2).peers().at(2)->table().size(), 0u);
  EXPECT_TRUE(committed_by(c.n(2)) == local_keys(c.n(0)))
      << committed_by(c.n(2)).size() << " flows, node 1 holds " << local_keys(c.n(0)).size();
  EXPECT_EQ(c.n(0).peers().at(2)->table().size(), 0u);
  // And node 2 follows node 1 again.
  EXPECT_EQ(c.n(1).peers().at(1)->table().size(), 35u);
}

TEST(Cluster, ALateJoinerGetsTheWholeTableAndIsReadyOnlyThen) {
  Cluster c;
  const std::size_t late = c.net.add_node(fast());
  // Ready at the first moment its copy of the active node is whole, not a moment before.
  bool ready = false;
  for (int ms = 0; ms < 2000 && !ready; ++ms) {
    c.net.run_for(milliseconds(1));
    ready = c.n(late).ready(c.net.now());
    if (ms == 0) {
      EXPECT_FALSE(ready) << "ready before it heard anyone";
    }
  }
  ASSERT_TRUE(ready) << c.n(late).readiness_reason(c.net.now());
  EXPECT_EQ(c.n(late).peers().at(1)->table().size(), 40u);
  EXPECT_TRUE(c.n(late).peers().at(1)->complete());
}

}  // namespace
}  // namespace ctsync

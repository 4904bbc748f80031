// A peer's copy is bounded (sync.max_peer_flows, max_peer_expectations): a peer that
// announces more, by mistake or as a key holder's attack, cannot make the receiver grow
// without limit. At the bound nothing is dropped silently: each refused entry is counted, the
// copy is incomplete and the node says it is not ready, and why. A later bulk that fits
// makes the copy complete again.
#include <gtest/gtest.h>

#include "sealed_pair.hpp"

namespace ctsync {
namespace {

using Pair = test::SealedPair;
using test::sample_flow;

TEST(CopyBounds, APeerAnnouncingMoreThanTheBoundFillsItAndTheNodeIsNotReady) {
  Pair p;
  p.cb.receiver.max_flows = 40;
  p.restart_b();
  p.exchange(milliseconds(1500));  // b joins: a complete copy of a's empty table
  ASSERT_TRUE(p.b->peers().at(1)->complete());
  for (std::uint32_t i = 1; i <= 50; ++i) p.a->local_upsert(sample_flow(i));
  p.exchange(milliseconds(500));
  EXPECT_EQ(p.copy().size(), 40u);
  EXPECT_EQ(p.b->counters().peer_flows_refused, 10u);
  EXPECT_FALSE(p.b->peers().at(1)->complete());
  EXPECT_FALSE(p.b->ready(p.now));
  EXPECT_NE(p.b->readiness_reason(p.now).find("full"), std::string::npos)
      << p.b->readiness_reason(p.now);
  // Updates of what it holds still apply: the copy stays as current as it can be.
  Flow changed = sample_flow(1);
  changed.mark = 4242;
  p.a->local_upsert(changed);
  p.exchange(milliseconds(50));
  ASSERT_TRUE(p.copy().find(changed.key));
  EXPECT_EQ(p.copy().find(changed.key)->flow.mark, 4242u);

  // The peer's table shrinks below the bound: the receiver asks for it again by itself, the
  // bulk fits and the copy is whole.
  const auto asked = p.b->counters().resync_requests_sent;
  for (std::uint32_t i = 1; i <= 20; ++i) p.a->local_erase(sample_flow(i).key);
  p.exchange(milliseconds(1500));
  EXPECT_GT(p.b->counters().resync_requests_sent, asked);
  EXPECT_EQ(p.copy().size(), 30u);
  EXPECT_TRUE(p.b->peers().at(1)->complete());
  EXPECT_TRUE(p.b->ready(p.now)) << p.b->readiness_reason(p.now);
}

TEST(CopyBounds, ExpectationsHaveTheirOwnBound) {
  Pair p;
  p.cb.receiver.max_expectations = 3;
  p.restart_b();
  for (std::uint16_t port = 41000; port < 41005; ++port) {
    Expectation e;
    e.master.original = Tuple{Family::ipv4,
                              proto::tcp,
                              IpAddress::v4(10, 0, 0, 1),
                              IpAddress::v4(10, 0, 0, 2),
                              40000,
                              21,
                              0,
                              0,
                              0};
    e.expected = Tuple{Family::ipv4,
                       proto::tcp,
                       IpAddress::v4(10, 0, 0, 1),
                       IpAddress::v4(10, 0, 0, 2),
                       0,
                       port,
                       0,
                       0,
                       0};
    e.mask = e.expected;
    e.timeout = 300;
    e.helper = "ftp";
    p.a->local_expectation_upsert(e);
  }
  p.exchange(milliseconds(500));
  EXPECT_EQ(p.b->peers().at(1)->expectations().size(), 3u);
  EXPECT_EQ(p.b->counters().peer_expectations_refused, 2u);
  EXPECT_FALSE(p.b->ready(p.now));
}

TEST(CopyBounds, NegativeControlWithoutABoundEveryFlowIsTaken) {
  Pair p;
  for (std::uint32_t i = 1; i <= 50; ++i) p.a->local_upsert(sample_flow(i));
  p.exchange(milliseconds(500));
  EXPECT_EQ(p.copy().size(), 50u);
  EXPECT_EQ(p.b->counters().peer_flows_refused, 0u);
  EXPECT_TRUE(p.b->ready(p.now));
}

// Stream packets that arrive ahead of a lost one are held until it is resent, within one
// budget for every peer (sync.max_early_bytes): beyond it they are not kept, and counted; the
// nacks fetch them again, so nothing is lost, and the budget is spent only while a gap lasts.
TEST(EarlyPackets, HeldAheadOfAGapWithinTheBudgetAndNothingLost) {
  Pair p;
  p.cb.receiver.max_early_bytes = 1000;  // a few packets
  p.restart_b();
  p.exchange(milliseconds(1500));
  p.hold = true;
  p.a->local_upsert(sample_flow(1));
  p.exchange(milliseconds(3));  // this one is lost
  p.hold = false;
  std::uint64_t most = 0;
  for (std::uint32_t i = 2; i <= 30; ++i) {  // b's nacks are lost too while these arrive
    p.a->local_upsert(sample_flow(i));
    for (int ms = 0; ms < 3; ++ms, p.now += milliseconds(1)) {
      std::vector<std::string> out;
      p.a->poll(p.now, out);
      for (auto& d : out) {
        std::string sealed;
        p.sealer.seal(d, sealed);
        p.deliver_to_b(sealed);
      }
      out.clear();
      p.b->poll(p.now, out);
    }
    most = std::max(most, p.b->counters().early_bytes);
  }
  EXPECT_LE(most, 1000u);
  EXPECT_GT(most, 0u);
  EXPECT_GT(p.b->counters().early_refused, 0u);
  p.exchange(milliseconds(1000));
  EXPECT_EQ(p.copy().size(), 30u) << "nothing lost: the nacks fetched what was not kept";
  EXPECT_EQ(p.b->counters().early_bytes, 0u) << "the budget is given back";
  EXPECT_TRUE(p.b->peers().at(1)->complete());
}

// Peer slots (64 by default, 3 here): a new node takes the slot of a silent peer whose copy
// is empty, never that of a silent peer holding flows (a crashed active node's copy is what
// the next promotion commits); with no slot to give, its datagrams are counted, not applied.
TEST(PeerSlots, ANewNodeTakesTheSlotOfASilentEmptyPeerButNeverACrashedActivesCopy) {
  Pair p;
  p.cb.max_peers = 3;
  p.restart_b();
  p.a->local_upsert(sample_flow(1));
  p.exchange(milliseconds(1500));
  ASSERT_EQ(p.copy().size(), 1u);
  std::vector<std::unique_ptr<SyncEngine>> others;
  auto node = [&](std::uint32_t id) {
    EngineConfig c = p.ca;
    c.node_id = id;
    c.boot_id = 1000 + id;
    others.push_back(std::make_unique<SyncEngine>(c, nullptr, p.now));
    return others.back().get();
  };
  auto speak = [&](SyncEngine* from, Duration d) {  // heartbeats of a backup to b only
    const TimePoint end = p.now + d;
    for (; p.now < end; p.now += milliseconds(10)) {
      std::vector<std::string> out;
      from->poll(p.now, out);
      for (const auto& datagram : out) p.b->receive(datagram, p.now);
    }
  };
  SyncEngine* n3 = node(3);
  SyncEngine* n4 = node(4);
  speak(n3, milliseconds(300));
  speak(n4, milliseconds(300));
  ASSERT_EQ(p.b->peers().size(), 3u) << "nodes 1, 3 and 4";

  // Every slot is held by a peer that is up: node 5 is turned away, and counted.
  SyncEngine* n5 = node(5);
  speak(n5, milliseconds(50));
  EXPECT_EQ(p.b->peers().count(5), 0u);
  EXPECT_GT(p.b->counters().dropped_for(DropReason::no_peer_slot), 0u);

  // All go silent, node 1 (the active one, with a flow) included, as in a crash.
  p.now += seconds(5);
  speak(n5, milliseconds(50));
  EXPECT_EQ(p.b->peers().count(5), 1u) << "a silent empty peer gave its slot up";
  EXPECT_EQ(p.b->counters().peer_slots_reused, 1u);
  EXPECT_EQ(p.b->peers().count(3), 0u) << "the one unheard longest";
  SyncEngine* n6 = node(6);
  speak(n6, milliseconds(50));
  EXPECT_EQ(p.b->peers().count(6), 1u);
  EXPECT_EQ(p.b->peers().count(4), 0u);

  // 5 and 6 speak; node 1, silent, holds a flow: node 7 finds no slot it may take.
  speak(n5, milliseconds(50));
  speak(n6, milliseconds(50));
  SyncEngine* n7 = node(7);
  const auto refused = p.b->counters().dropped_for(DropReason::no_peer_slot);
  speak(n7, milliseconds(50));
  EXPECT_EQ(p.b->peers().count(7), 0u);
  EXPECT_GT(p.b->counters().dropped_for(DropReason::no_peer_slot), refused);
  EXPECT_EQ(p.b->peers().count(1), 1u) << "the crashed active node's copy is kept";
  EXPECT_EQ(p.copy().size(), 1u);
}

}  // namespace
}  // namespace ctsync

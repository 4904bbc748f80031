// Replication latency measured on the sender (a change's kernel event read to a peer's ack),
// what a failover now would lose, and the backup's readiness by lag, with simulated time.
#include <gtest/gtest.h>

#include "core/changes_in_flight.hpp"
#include "core/latency_histogram.hpp"
#include "core/sync_engine.hpp"
#include "sealed_pair.hpp"

namespace ctsync {
namespace {

using test::sample_flow;

TimePoint at(int ms) {
  return TimePoint{} + milliseconds(ms);
}

TEST(LatencyHistogram, BucketsAndQuantilesAsPromQLReadsThem) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), 0);
  for (int i = 0; i < 90; ++i) h.observe(std::chrono::microseconds(800));  // (0.5 ms, 1 ms]
  for (int i = 0; i < 10; ++i) h.observe(seconds(3));                      // (2.5 s, 5 s]
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.counts()[3], 90u);
  EXPECT_EQ(h.counts()[14], 10u);
  EXPECT_NEAR(h.sum_seconds(), 90 * 0.0008 + 30, 1e-9);
  // The 50th of 90 in (0.5, 1] ms: 0.5 + 0.5 * 50/90 ms.
  EXPECT_NEAR(h.quantile(0.5), 0.0005 + 0.0005 * 50.0 / 90.0, 1e-9);
  EXPECT_NEAR(h.quantile(0.95), 2.5 + 2.5 * 5.0 / 10.0, 1e-9);
  h.observe(seconds(60));
  EXPECT_EQ(h.counts()[LatencyHistogram::buckets - 1], 1u) << "beyond 10 s";
  EXPECT_EQ(h.quantile(0.999), 10);
}

TEST(ChangesInFlight, EachPeersLatencyIsItsAckAndEveryPeersIsTheLastAck) {
  ChangesInFlight f;
  f.peer_up(1, 0);
  f.peer_up(2, 0);
  f.sent(1, {at(0), at(1)});
  f.sent(2, {at(2)});
  EXPECT_EQ(f.at_risk(), 3u);
  EXPECT_EQ(f.oldest_at_risk(), at(0));
  f.acked(2, 1, at(4));
  EXPECT_EQ(f.at_risk(), 1u) << "peer 2 could take over with the first packet";
  EXPECT_EQ(f.oldest_at_risk(), at(2));
  f.acked(1, 2, at(5));
  EXPECT_EQ(f.per_peer().at(1).count(), 3u);
  EXPECT_NEAR(f.per_peer().at(1).sum_seconds(), 0.005 + 0.004 + 0.003, 1e-9);
  EXPECT_EQ(f.at_risk(), 0u) << "peer 1 has everything";
  EXPECT_EQ(f.oldest_at_risk(), std::nullopt);
  EXPECT_EQ(f.all_peers().count(), 2u) << "every up peer has the first packet only";
  EXPECT_NEAR(f.all_peers().sum_seconds(), 0.005 + 0.004, 1e-9) << "at the later ack of it";
  f.acked(2, 2, at(20));
  EXPECT_EQ(f.all_peers().count(), 3u);
  EXPECT_NEAR(f.all_peers().sum_seconds(), 0.005 + 0.004 + 0.018, 1e-9);
}

TEST(ChangesInFlight, APeerThatAcknowledgesNothingKeepsChangesAtRiskWithinTheBound) {
  ChangesInFlight f(4);
  f.peer_up(1, 0);
  for (std::uint64_t s = 1; s <= 10; ++s) f.sent(s, {at(static_cast<int>(s)), at(100)});
  EXPECT_EQ(f.at_risk(), 20u) << "folded packets are still at risk";
  EXPECT_EQ(f.oldest_at_risk(), at(1));
  EXPECT_EQ(f.unmeasured(), 12u);
  f.acked(1, 10, at(200));
  EXPECT_EQ(f.at_risk(), 0u);
  EXPECT_EQ(f.all_peers().count(), 8u) << "the four packets still tracked";
  EXPECT_EQ(f.per_peer().at(1).count(), 8u);
}

// A backup that goes down (a partition, a crash) is still the node that would take over:
// what it lacks stays at risk, and its latency is measured when it acknowledges again.
TEST(ChangesInFlight, ADownPeerIsStillOwedAndANewPeerOnlyWhatFollows) {
  ChangesInFlight f;
  f.sent(1, {at(0)});
  EXPECT_EQ(f.at_risk(), 0u) << "no peer known: nobody could take over";
  f.peer_up(1, 1);
  f.sent(2, {at(5)});
  f.peer_down(1, at(6));
  f.sent(3, {at(7), at(8)});
  EXPECT_EQ(f.at_risk(), 3u);
  EXPECT_EQ(f.oldest_at_risk(), at(5));
  EXPECT_EQ(f.all_peers().count(), 0u);
  f.peer_up(1, 99);  // back, without a restart: it resumes where it was
  f.acked(1, 3, at(2000));
  EXPECT_EQ(f.at_risk(), 0u);
  EXPECT_EQ(f.per_peer().at(1).count(), 3u);
  EXPECT_NEAR(f.per_peer().at(1).sum_seconds(), 1.995 + 1.993 + 1.992, 1e-9);
  EXPECT_EQ(f.all_peers().count(), 3u);

  f.peer_up(2, 3);  // a new node: owed what is sent from now on
  EXPECT_EQ(f.at_risk(), 0u);
  f.sent(4, {at(2001)});
  f.acked(1, 4, at(2002));
  EXPECT_EQ(f.at_risk(), 0u) << "the most advanced peer has it";
  EXPECT_EQ(f.all_peers().count(), 3u) << "not every up peer yet";
  f.acked(2, 4, at(2003));
  EXPECT_EQ(f.all_peers().count(), 4u);
}

// "Every up peer has it": a down peer does not hold the all-peers latency back.
TEST(ChangesInFlight, EveryUpPeerLeavesOutTheDownOnes) {
  ChangesInFlight f;
  f.peer_up(1, 0);
  f.peer_up(2, 0);
  f.peer_down(2, at(0));
  f.sent(1, {at(1)});
  f.acked(1, 1, at(4));
  EXPECT_EQ(f.all_peers().count(), 1u);
  EXPECT_NEAR(f.all_peers().sum_seconds(), 0.003, 1e-9);
  EXPECT_EQ(f.at_risk(), 0u);
}

// An active node (1) and a backup (2); `lose` drops some of the active node's datagrams.
struct LossyPair : test::SealedPair {
  void change(std::uint32_t first, std::uint32_t n) {
    a->note_time(now);
    for (std::uint32_t i = first; i < first + n; ++i) a->local_upsert(sample_flow(i));
  }
};

TEST(ReplicationLatency, ChangesMadeDuringAPartitionAreAtRiskUntilItHealsAndTookItsLength) {
  LossyPair p;
  ASSERT_TRUE(p.b->ready(p.now));
  p.change(1, 10);
  p.exchange(milliseconds(50));
  EXPECT_EQ(p.a->at_risk(p.now).changes, 0u);
  const LatencyHistogram before = p.a->sender().in_flight().all_peers();
  EXPECT_EQ(before.count(), 10u);
  EXPECT_LT(before.quantile(0.99), 0.01) << "a clean link: milliseconds";

  // The backup keeps hearing heartbeats, and nothing of the stream: it knows it is behind.
  p.lose = [](const v1::Packet& c) { return c.stream_seq() != 0; };
  p.change(100, 20);
  EXPECT_EQ(p.a->at_risk(p.now).changes, 20u) << "queued, not yet sent: at risk already";
  p.exchange(milliseconds(1));
  p.exchange(milliseconds(400));
  EXPECT_EQ(p.a->at_risk(p.now).changes, 20u);
  EXPECT_GE(p.a->at_risk(p.now).oldest, milliseconds(400));
  EXPECT_TRUE(p.b->ready(p.now)) << "behind for less than ready_max_lag (750 ms)";
  p.exchange(milliseconds(1600));
  EXPECT_EQ(p.a->at_risk(p.now).changes, 20u);
  EXPECT_GE(p.a->at_risk(p.now).oldest, seconds(2));
  EXPECT_GE(p.b->peers().at(1)->behind(p.now), milliseconds(1500));
  EXPECT_FALSE(p.b->ready(p.now));
  EXPECT_NE(p.b->readiness_reason(p.now).find("behind its announced stream"), std::string::npos)
      << p.b->readiness_reason(p.now);

  p.lose = [](const v1::Packet&) { return false; };  // healed: the nacks fetch it all
  p.exchange(milliseconds(300));
  EXPECT_EQ(p.a->at_risk(p.now).changes, 0u);
  EXPECT_EQ(p.a->at_risk(p.now).oldest, Duration{});
  EXPECT_TRUE(p.b->ready(p.now));
  EXPECT_EQ(p.b->peers().at(1)->behind(p.now), Duration{});
  const LatencyHistogram& after = p.a->sender().in_flight().all_peers();
  EXPECT_EQ(after.count(), 30u);
  std::uint64_t slow = 0;  // above 1 s
  for (std::size_t i = 13; i < LatencyHistogram::buckets; ++i) slow += after.counts()[i];
  EXPECT_EQ(slow, 20u) << "each change of the partition took at least its length";
  EXPECT_GT(p.a->counters().retransmits, 0u);
}

// A change made while a bulk is on its way is measured like any other: to its own ack.
TEST(ReplicationLatency, AChangeDuringABulkIsMeasuredToItsAck) {
  LossyPair p;
  p.change(1, 500);
  p.exchange(milliseconds(100));
  const std::uint64_t measured = p.a->sender().in_flight().all_peers().count();
  EXPECT_EQ(measured, 500u);
  p.a->announce_table();
  p.change(1000, 3);
  p.exchange(milliseconds(100));
  EXPECT_EQ(p.a->sender().in_flight().all_peers().count(), measured + 3)
      << "the bulk's flows are not changes; the three are";
  EXPECT_EQ(p.a->at_risk(p.now).changes, 0u);
}

}  // namespace
}  // namespace ctsync

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
  ASSERT_NE(p.copy().find(changed.key), nullptr);
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

}  // namespace
}  // namespace ctsync

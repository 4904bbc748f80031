// A recording of the active node's stream, replayed to a backup whose daemon just restarted
// while the genuine sender is silent (its datagrams dropped for a moment). A receiver that
// forgot everything at its restart took the recording's first boot as news and the flows it
// announced came back, closed ones included. With the newest datagram accepted from each
// peer remembered across the restart, every recorded datagram is refused as a replay: from
// its start, its tail, or an older boot of the sender; the genuine peer is then followed.
// And what the marks cannot cover (a lost state directory, datagrams accepted after the last
// save before a crash) the bulk bound to the receiver's boot does: before a bulk that names
// this start of the receiver, nothing of a peer's stream is applied.
#include <gtest/gtest.h>

#include "core/peer_marks.hpp"
#include "sealed_pair.hpp"

namespace ctsync {
namespace {

using Pair = test::SealedPair;
using test::sample_flow;

// The active node opens six flows and closes them again; one more stays open.
struct Recorded {
  Pair p;
  std::vector<Flow> closed;
  Flow open = sample_flow(99);
  std::vector<std::string> while_open;  // from the stream's start to the six flows open

  explicit Recorded(std::uint32_t sender_features = EngineConfig{}.features) : p(sender_features) {
    for (std::uint32_t i = 1; i <= 6; ++i) closed.push_back(sample_flow(i));
    for (const auto& f : closed) p.a->local_upsert(f);
    p.a->local_upsert(open);
    p.exchange(milliseconds(50));
    while_open = p.captured;
    for (const auto& f : closed) p.a->local_erase(f.key);
    p.exchange(milliseconds(300));
    EXPECT_FALSE(p.copy().find(closed[0].key));
    EXPECT_TRUE(p.copy().find(open.key));
  }

  std::size_t closed_in_copy() {
    if (p.b->peers().count(1) == 0) return 0;
    std::size_t n = 0;
    for (const auto& f : closed) n += p.copy().find(f.key).has_value();
    return n;
  }
  std::size_t copy_size() { return p.b->peers().count(1) == 0 ? 0 : p.copy().size(); }
  bool complete() { return p.b->peers().count(1) != 0 && p.b->peers().at(1)->complete(); }
};

// Neither defence: the receiver forgot what it accepted and the sender (a release before
// 0.2.0) does not name requesters in its bulks.
TEST(RestartReplay, NegativeControlAReceiverThatForgetsTakesTheRecordingAsNews) {
  Recorded r(v1::FEATURE_NONE);
  r.p.hold = true;  // the genuine sender is silent for the receiver
  r.p.restart_b();
  for (const auto& d : r.while_open) r.p.deliver_to_b(d);
  EXPECT_EQ(r.closed_in_copy(), r.closed.size()) << "the attack works without the marks";
  EXPECT_TRUE(r.complete()) << "and the recording's own bulk made the copy complete";
}

// The state directory lost (or never written): no marks, so the recording's datagrams pass
// the replay checks; the recording's bulks name an earlier start of the receiver, so none of
// it is applied and the copy stays empty and incomplete until the genuine peer answers.
TEST(RestartReplay, AReceiverThatLostItsStateTakesNothingBeforeABulkMadeForIt) {
  Recorded r;
  r.p.hold = true;
  r.p.restart_b();
  for (const auto& d : r.while_open) r.p.deliver_to_b(d);
  for (const auto& d : r.p.captured) r.p.deliver_to_b(d);
  EXPECT_EQ(r.p.drops(DropReason::replay), 0u) << "nothing remembered to refuse them by";
  EXPECT_GT(r.p.b->counters().stream_before_bound_bulk, 0u);
  EXPECT_EQ(r.copy_size(), 0u);
  EXPECT_FALSE(r.complete());
  EXPECT_NE(r.p.b->readiness_reason(r.p.now).find("waiting for a bulk made for this start"),
            std::string::npos)
      << r.p.b->readiness_reason(r.p.now);

  r.p.hold = false;
  r.p.exchange(milliseconds(1500));
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.p.copy().find(r.open.key));
  EXPECT_EQ(r.closed_in_copy(), 0u);
}

// Datagrams accepted after the last save of the marks, then a crash: the tail is above the
// remembered floor, so it passes the window; it is still passed over, being no bulk for us.
TEST(RestartReplay, TheTailAfterTheLastSavedMarkIsPassedOverUntilABulkMadeForThisStart) {
  Recorded r;
  const PeerMarks saved = r.p.b->peer_marks();  // the last write of state_dir/peers
  const std::size_t before = r.p.captured.size();
  for (const auto& f : r.closed) r.p.a->local_upsert(f);
  r.p.exchange(milliseconds(20));
  ASSERT_EQ(r.closed_in_copy(), r.closed.size());
  const std::vector<std::string> tail(r.p.captured.begin() + static_cast<long>(before),
                                      r.p.captured.end());
  r.p.hold = true;
  for (const auto& f : r.closed) r.p.a->local_erase(f.key);
  r.p.exchange(milliseconds(20));
  r.p.cb.remembered_peers = saved;  // crashed before the next write
  r.p.restart_b();

  for (const auto& d : tail) r.p.deliver_to_b(d);
  EXPECT_EQ(r.p.drops(DropReason::replay), 0u) << "above the saved floor: news to the window";
  EXPECT_EQ(r.copy_size(), 0u);
  EXPECT_FALSE(r.complete());
}

TEST(RestartReplay, TheStreamFromItsStartIsRefusedAfterTheReceiverRestarts) {
  Recorded r;
  r.p.hold = true;
  r.p.restart_b_remembering();
  const auto replays = r.p.drops(DropReason::replay);
  for (const auto& d : r.while_open) r.p.deliver_to_b(d);
  for (const auto& d : r.p.captured) r.p.deliver_to_b(d);  // and everything after
  EXPECT_EQ(r.p.drops(DropReason::replay) - replays, r.while_open.size() + r.p.captured.size());
  EXPECT_EQ(r.copy_size(), 0u);
  EXPECT_FALSE(r.complete());

  // The genuine peer speaks again: followed from where it is, its table complete.
  r.p.hold = false;
  r.p.exchange(milliseconds(500));
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.p.copy().find(r.open.key));
  EXPECT_EQ(r.closed_in_copy(), 0u);
}

TEST(RestartReplay, TheTailRecordedJustBeforeTheRestartIsRefused) {
  Recorded r;
  const std::size_t before = r.p.captured.size();
  for (const auto& f : r.closed) r.p.a->local_upsert(f);  // reopened just before the restart
  r.p.exchange(milliseconds(20));
  ASSERT_EQ(r.closed_in_copy(), r.closed.size());
  const std::vector<std::string> tail(r.p.captured.begin() + static_cast<long>(before),
                                      r.p.captured.end());
  r.p.hold = true;  // closed again while the receiver restarts: it never hears that
  for (const auto& f : r.closed) r.p.a->local_erase(f.key);
  r.p.exchange(milliseconds(20));
  r.p.restart_b_remembering();

  const auto replays = r.p.drops(DropReason::replay);
  for (const auto& d : tail) r.p.deliver_to_b(d);
  EXPECT_EQ(r.p.drops(DropReason::replay) - replays, tail.size());
  EXPECT_EQ(r.copy_size(), 0u);
}

TEST(RestartReplay, AnOlderBootOfTheSenderIsRefusedAfterTheReceiverRestarts) {
  Recorded r;
  const std::vector<std::string> old_boot = r.p.captured;
  EngineConfig restarted = r.p.ca;
  restarted.boot_id = r.p.ca.boot_id + 1;
  r.p.a = std::make_unique<SyncEngine>(restarted, nullptr, r.p.now);
  r.p.a->set_role(Role::active, r.p.now);
  r.p.a->announce_table();
  r.p.exchange(milliseconds(300));
  ASSERT_EQ(r.p.b->peers().at(1)->boot_id(), restarted.boot_id);

  r.p.hold = true;
  r.p.restart_b_remembering();
  for (const auto& d : old_boot) r.p.deliver_to_b(d);
  EXPECT_EQ(r.p.drops(DropReason::replay), old_boot.size());
  EXPECT_EQ(r.copy_size(), 0u);
}

// The genuine sender stays silent across several restarts of the receiver: what was
// remembered is remembered again, whether the replays reached it in between or nothing did.
TEST(RestartReplay, RestartsInARowWithoutHearingThePeerStillRemember) {
  Recorded r;
  r.p.hold = true;
  r.p.restart_b_remembering();
  r.p.restart_b_remembering();  // nothing heard at all in between
  for (int round = 0; round < 2; ++round) {
    const auto replays = r.p.drops(DropReason::replay);
    for (const auto& d : r.while_open) r.p.deliver_to_b(d);
    EXPECT_EQ(r.p.drops(DropReason::replay) - replays, r.while_open.size()) << "round " << round;
    EXPECT_EQ(r.copy_size(), 0u) << "round " << round;
    r.p.restart_b_remembering();  // only refused replays heard in between
  }
}

TEST(PeerMarks, TextRoundTripAndDamagedLinesSkipped) {
  const PeerMarks marks{{1, {100, 5}}, {7, {18446744073709551615ull, 0}}};
  EXPECT_EQ(peer_marks_from_text(peer_marks_to_text(marks)), marks);
  const auto read = peer_marks_from_text(
      "2 300 9\n0 5 5\n3 0 1\nx y z\n4 5\n5 6 7 8\n99999999999 1 1\n6 10 11\n");
  EXPECT_EQ(read, (PeerMarks{{2, {300, 9}}, {6, {10, 11}}}));
  EXPECT_TRUE(peer_marks_from_text("").empty());
}

}  // namespace
}  // namespace ctsync

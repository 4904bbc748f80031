// The datagram window's verdicts: each counter is news once, and nothing older than what the
// receiver already holds passes as news, whether it saw the original or not.
#include "core/replay_window.hpp"

#include <gtest/gtest.h>

namespace ctsync {
namespace {

using V = ReplayWindow::Verdict;

TEST(ReplayWindow, FirstArrivalsAreFreshAndRepeatsDuplicates) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_mark(1), V::fresh);
  EXPECT_EQ(w.check_and_mark(2), V::fresh);
  EXPECT_EQ(w.check_and_mark(2), V::duplicate);
  EXPECT_EQ(w.check_and_mark(1), V::duplicate);
  EXPECT_EQ(w.check_and_mark(0), V::replay);
}

TEST(ReplayWindow, CountersSentBeforeTheFirstHeardAreStale) {
  // The receiver joined when the sender was at 100: 1..99 were never seen, yet none of them
  // is news (a window without a floor took them as first arrivals).
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_mark(100), V::fresh);
  EXPECT_EQ(w.check_and_mark(99), V::stale);
  EXPECT_EQ(w.check_and_mark(60), V::stale);
  EXPECT_EQ(w.check_and_mark(10), V::replay) << "older than the window stays a replay";
  EXPECT_EQ(w.check_and_mark(99), V::stale) << "and stays stale: it is never marked";
}

TEST(ReplayWindow, UnseenButOlderThanTheNewestIsLateOnce) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_mark(10), V::fresh);
  EXPECT_EQ(w.check_and_mark(12), V::fresh);
  EXPECT_EQ(w.check_and_mark(11), V::late);
  EXPECT_EQ(w.check_and_mark(11), V::duplicate);
}

TEST(ReplayWindow, ResetStartsANewSequenceSpace) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_mark(50), V::fresh);
  w.reset();
  EXPECT_EQ(w.check_and_mark(3), V::fresh) << "a restarted sender counts from its start again";
  EXPECT_EQ(w.check_and_mark(2), V::stale);
}

TEST(ReplayWindow, AJumpPastTheWindowForgetsWhatWasMarked) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_mark(1), V::fresh);
  EXPECT_EQ(w.check_and_mark(1000), V::fresh);
  EXPECT_EQ(w.check_and_mark(999), V::late);
  EXPECT_EQ(w.check_and_mark(900), V::replay);
}

TEST(ReplayWindow, AFloorRefusesEverythingUpToItUntilANewBoot) {
  ReplayWindow w(64);
  w.set_floor(10);
  EXPECT_EQ(w.check_and_mark(3), ReplayWindow::Verdict::replay);
  EXPECT_EQ(w.check_and_mark(10), ReplayWindow::Verdict::replay);
  EXPECT_EQ(w.check_and_mark(11), ReplayWindow::Verdict::fresh);
  w.reset();
  EXPECT_EQ(w.check_and_mark(3), ReplayWindow::Verdict::fresh) << "a new boot, a new space";
}

}  // namespace
}  // namespace ctsync

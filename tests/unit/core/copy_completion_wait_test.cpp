#include <gtest/gtest.h>

#include "core/copy_completion_wait.hpp"

namespace ctsync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint t0{};

TEST(CopyCompletionWait, CompleteCopiesEndTheWaitAtOnce) {
  CopyCompletionWait w(t0, seconds(10), seconds(3));
  EXPECT_FALSE(w.done(t0 + milliseconds(100), false, 500));
  EXPECT_TRUE(w.done(t0 + milliseconds(200), true, 1000));
}

TEST(CopyCompletionWait, NothingArrivingEndsTheWaitAfterTheMinimum) {
  CopyCompletionWait w(t0, seconds(10), seconds(3));
  EXPECT_FALSE(w.done(t0 + milliseconds(9900), false, 0));
  EXPECT_TRUE(w.done(t0 + seconds(10), false, 0));
}

// A slow peer's bulk still arriving after the minimum: the copies are not committed half done.
TEST(CopyCompletionWait, AGrowingCopyKeepsItWaitingUntilItStopsGrowing) {
  CopyCompletionWait w(t0, seconds(10), seconds(3));
  std::size_t flows = 0;
  TimePoint last_growth = t0;
  for (TimePoint now = t0; now < t0 + seconds(30); now += milliseconds(100)) {
    flows += 500;
    last_growth = now;
    ASSERT_FALSE(w.done(now, false, flows)) << "still growing";
  }
  EXPECT_FALSE(w.done(last_growth + milliseconds(2900), false, flows));
  EXPECT_TRUE(w.done(last_growth + seconds(3), false, flows));
}

}  // namespace
}  // namespace ctsync

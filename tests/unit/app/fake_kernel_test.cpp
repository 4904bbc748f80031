// The fake kernel behaves like the table where decisions depend on it.
#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "flow_factory.hpp"
#include "sim_scheduler.hpp"

namespace ctsync {
namespace {

TEST(FakeKernel, CreatesUpdatesReplacesOnANatClashAndRefusesWhenFull) {
  test::SimScheduler loop;
  test::FakeKernel k(loop);
  k.max_entries = 2;
  auto flows = test::kernel_valid_flows(3, 1);
  std::vector<WriteResult> r;
  ASSERT_TRUE(k.upsert(flows, r));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].outcome, WriteOutcome::created);
  EXPECT_EQ(r[2].outcome, WriteOutcome::failed);
  EXPECT_EQ(r[2].error, ENOMEM);
  Flow same = flows[0], clash = flows[1];
  clash.reply.dst.bytes[15] ^= 1;
  ASSERT_TRUE(k.upsert(std::vector<Flow>{same, clash}, r));
  EXPECT_EQ(r[0].outcome, WriteOutcome::updated);
  EXPECT_EQ(r[1].outcome, WriteOutcome::replaced);
}

}  // namespace
}  // namespace ctsync

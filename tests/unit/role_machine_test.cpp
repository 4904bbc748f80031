#include <gtest/gtest.h>

#include "core/role_machine.hpp"

namespace ctsync {
namespace {

TEST(RoleMachine, PromoteInExternalModeCommitsEverything) {
  RoleMachine m(CacheMode::external, v1::ROLE_BACKUP);
  const auto a = m.request(v1::ROLE_ACTIVE);
  EXPECT_TRUE(a.commit && a.announce_after_commit);
  EXPECT_FALSE(a.flush_injections || a.stop_injecting || a.request_resync);
  EXPECT_TRUE(m.committing());
  EXPECT_EQ(m.role(), v1::ROLE_ACTIVE);
}

TEST(RoleMachine, PromoteInDirectModeFlushesAndStopsInjecting) {
  RoleMachine m(CacheMode::direct, v1::ROLE_BACKUP);
  const auto a = m.request(v1::ROLE_ACTIVE);
  EXPECT_TRUE(a.flush_injections && a.stop_injecting && a.commit);
}

TEST(RoleMachine, RepeatedRequestsChangeNothing) {
  RoleMachine m(CacheMode::external, v1::ROLE_ACTIVE);
  EXPECT_TRUE(m.request(v1::ROLE_ACTIVE).unchanged);
  RoleMachine b(CacheMode::external, v1::ROLE_BACKUP);
  EXPECT_TRUE(b.request(v1::ROLE_BACKUP).unchanged);
}

TEST(RoleMachine, DemoteDuringACommitCancelsIt) {
  RoleMachine m(CacheMode::external, v1::ROLE_BACKUP);
  m.request(v1::ROLE_ACTIVE);
  const auto a = m.request(v1::ROLE_BACKUP);
  EXPECT_TRUE(a.cancel_commit);
  EXPECT_TRUE(a.request_resync);
  EXPECT_TRUE(a.schedule_purge) << "external mode expires what we served";
  EXPECT_FALSE(m.committing());
}

TEST(RoleMachine, DemoteAfterTheCommitDoesNotCancel) {
  RoleMachine m(CacheMode::external, v1::ROLE_BACKUP);
  m.request(v1::ROLE_ACTIVE);
  m.commit_done();
  const auto a = m.request(v1::ROLE_BACKUP);
  EXPECT_FALSE(a.cancel_commit);
  EXPECT_TRUE(a.schedule_purge);
}

TEST(RoleMachine, DirectModeBackupKeepsItsKernelEntries) {
  RoleMachine m(CacheMode::direct, v1::ROLE_ACTIVE);
  const auto a = m.request(v1::ROLE_BACKUP);
  EXPECT_TRUE(a.start_injecting);
  EXPECT_FALSE(a.schedule_purge) << "in direct mode our entries are the peer's live flows";
}

TEST(RoleMachine, FaultFromBackupNeedsNoPurge) {
  RoleMachine m(CacheMode::external, v1::ROLE_BACKUP);
  const auto a = m.request(v1::ROLE_FAULT);
  EXPECT_FALSE(a.schedule_purge);
  EXPECT_TRUE(a.request_resync);
  EXPECT_EQ(m.role(), v1::ROLE_FAULT);
  const auto b = m.request(v1::ROLE_ACTIVE);
  EXPECT_TRUE(b.commit) << "a fault node can be promoted when it is the last one standing";
}

}  // namespace
}  // namespace ctsync

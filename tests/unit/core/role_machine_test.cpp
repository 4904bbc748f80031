#include <gtest/gtest.h>

#include "core/role_machine.hpp"

namespace ctsync {
namespace {

TEST(RoleMachine, PromoteInExternalModeCommitsEverything) {
  RoleMachine m(CacheMode::external, Role::backup);
  const auto a = m.request(Role::active);
  EXPECT_EQ(a.commit, CommitScope::peers_seen_active);
  EXPECT_TRUE(a.announce_after_commit && a.save_role && a.stop_purge);
  EXPECT_FALSE(a.flush_injections || a.request_resync);
  EXPECT_TRUE(m.committing());
  EXPECT_EQ(m.role(), Role::active);
}

TEST(RoleMachine, PromoteInDirectModeFlushesAndStopsInjecting) {
  RoleMachine m(CacheMode::direct, Role::backup);
  const auto a = m.request(Role::active);
  EXPECT_TRUE(a.flush_injections && a.stop_injecting);
  EXPECT_EQ(a.commit, CommitScope::failed_injections);
}

TEST(RoleMachine, RepeatedRequestsChangeNothing) {
  RoleMachine m(CacheMode::external, Role::active);
  EXPECT_TRUE(m.request(Role::active).unchanged);
  RoleMachine b(CacheMode::external, Role::backup);
  EXPECT_TRUE(b.request(Role::backup).unchanged);
}

TEST(RoleMachine, DemoteDuringACommitCancelsIt) {
  RoleMachine m(CacheMode::external, Role::backup);
  m.request(Role::active);
  const auto a = m.request(Role::backup);
  EXPECT_TRUE(a.cancel_commit);
  EXPECT_TRUE(a.request_resync);
  EXPECT_TRUE(a.schedule_purge) << "external mode expires what we served";
  EXPECT_FALSE(m.committing());
}

TEST(RoleMachine, DemoteAfterTheCommitDoesNotCancel) {
  RoleMachine m(CacheMode::external, Role::backup);
  m.request(Role::active);
  m.commit_done();
  const auto a = m.request(Role::backup);
  EXPECT_FALSE(a.cancel_commit);
  EXPECT_TRUE(a.schedule_purge);
}

TEST(RoleMachine, DirectModeBackupKeepsItsKernelEntries) {
  RoleMachine m(CacheMode::direct, Role::active);
  const auto a = m.request(Role::backup);
  EXPECT_TRUE(a.start_injecting);
  EXPECT_FALSE(a.schedule_purge) << "in direct mode our entries are the peer's live flows";
}

TEST(RoleMachine, FaultFromBackupNeedsNoPurge) {
  RoleMachine m(CacheMode::external, Role::backup);
  const auto a = m.request(Role::fault);
  EXPECT_FALSE(a.schedule_purge);
  EXPECT_TRUE(a.request_resync);
  EXPECT_EQ(m.role(), Role::fault);
  const auto b = m.request(Role::active);
  EXPECT_EQ(b.commit, CommitScope::peers_seen_active)
      << "a fault node can be promoted when it is the last one standing";
}

TEST(RoleMachine, ARestartAsActiveWithACommitPendingRedoesItFromEveryCopy) {
  RoleMachine m(CacheMode::external, Role::active);
  const auto a = m.resume(true);
  EXPECT_EQ(a.commit, CommitScope::every_complete_copy);
  EXPECT_TRUE(a.announce_after_commit);
  EXPECT_FALSE(a.announce_now);
  EXPECT_TRUE(m.committing());
}

TEST(RoleMachine, ARestartAsActiveAnnouncesAndARestartAsBackupInDirectModeInjects) {
  RoleMachine active(CacheMode::external, Role::active);
  const auto a = active.resume(false);
  EXPECT_EQ(a.commit, CommitScope::none);
  EXPECT_TRUE(a.announce_now);
  RoleMachine backup(CacheMode::direct, Role::backup);
  EXPECT_TRUE(backup.resume(false).start_injecting);
  RoleMachine fault(CacheMode::external, Role::fault);
  const auto f = fault.resume(true);  // only an active node redoes a commit
  EXPECT_EQ(f.commit, CommitScope::none);
  EXPECT_FALSE(f.start_injecting || f.announce_now);
}

TEST(RoleMachine, AManualCommitWritesWhatAPromotionWould) {
  EXPECT_EQ(RoleMachine(CacheMode::external, Role::backup).manual_commit(),
            CommitScope::peers_seen_active);
  EXPECT_EQ(RoleMachine(CacheMode::direct, Role::active).manual_commit(),
            CommitScope::failed_injections);
}

TEST(RoleMachine, EveryChangeIsRememberedAndCancelsAPendingPurge) {
  for (Role from : {Role::backup, Role::active, Role::fault}) {
    for (Role to : {Role::backup, Role::active, Role::fault}) {
      RoleMachine m(CacheMode::external, from);
      const auto a = m.request(to);
      EXPECT_EQ(a.unchanged, from == to);
      EXPECT_EQ(a.save_role, from != to);
      EXPECT_EQ(a.stop_purge, from != to);
      EXPECT_EQ(a.schedule_purge, from == Role::active && to != Role::active);
      EXPECT_EQ(a.commit != CommitScope::none, from != to && to == Role::active);
      EXPECT_EQ(m.role(), to);
    }
  }
}

}  // namespace
}  // namespace ctsync

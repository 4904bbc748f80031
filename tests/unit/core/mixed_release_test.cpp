// A pair across the 0.2.0 upgrade, one node at a time: a node of the older release (no
// Packet.features, seals with the pre-shared key itself and opens nothing else) beside a
// node of this one. The new node opens both sealings and seals with the pre-shared key only
// while such a peer is up; two new nodes use the derived key alone.
#include <gtest/gtest.h>
#include <sodium.h>

#include "net/datagram_sealer.hpp"
#include "sealed_pair.hpp"

namespace ctsync {
namespace {

using test::ring;
using test::sample_flow;

// Node 1 and node 2, each either of the older release or of this one.
struct MixedPair {
  TimePoint now{};
  EngineConfig c1, c2;
  std::unique_ptr<SyncEngine> n1, n2;
  DatagramSealer sealer{ring(1, 0x11), 1500};
  bool old1, old2;
  std::size_t legacy_sealed = 0, derived_sealed = 0;
  std::size_t refused_by_old = 0;  // what an older release drops as bad_version

  MixedPair(bool node1_old, bool node2_old) : old1(node1_old), old2(node2_old) {
    c1.node_id = 1;
    c1.boot_id = 100;
    c2 = c1;
    c2.node_id = 2;
    if (old1) c1.features = v1::FEATURE_NONE;
    if (old2) c2.features = v1::FEATURE_NONE;
    n1 = std::make_unique<SyncEngine>(c1, nullptr, now);
    n2 = std::make_unique<SyncEngine>(c2, nullptr, now);
  }

  // What the sender's transport does: an older release always seals with the key itself.
  std::string seal(SyncEngine& from, bool from_old, const std::string& plain) {
    const Sealing s =
        from_old || from.legacy_peer_up(now) ? Sealing::raw_key : Sealing::derived_key;
    (s == Sealing::raw_key ? legacy_sealed : derived_sealed) += 1;
    std::string sealed;
    sealer.seal(plain, sealed, s);
    return sealed;
  }
  void deliver(SyncEngine& to, bool to_old, const std::string& sealed) {
    if (to_old && static_cast<std::uint8_t>(sealed[2]) != 1) {
      refused_by_old += 1;  // the older release knows header version 1 only
      return;
    }
    std::string plain;
    ASSERT_FALSE(sealer.open(sealed, plain).dropped);
    to.receive(plain, now);
  }
  void exchange(Duration d) {
    const TimePoint end = now + d;
    while (now < end) {
      std::vector<std::string> out;
      n1->poll(now, out);
      for (auto& p : out) deliver(*n2, old2, seal(*n1, old1, p));
      out.clear();
      n2->poll(now, out);
      for (auto& p : out) deliver(*n1, old1, seal(*n2, old2, p));
      now += milliseconds(1);
    }
  }
  // A node restarted on the other release: a new boot, as after a package upgrade.
  void upgrade(int node) {
    EngineConfig& c = node == 1 ? c1 : c2;
    c.features = EngineConfig{}.features;
    c.boot_id += 1;
    (node == 1 ? old1 : old2) = false;
    (node == 1 ? n1 : n2) = std::make_unique<SyncEngine>(c, nullptr, now);
  }
};

void replicate_and_check(MixedPair& m, SyncEngine& active, SyncEngine& backup) {
  active.set_role(Role::active, m.now);
  active.announce_table();
  for (std::uint32_t i = 1; i <= 30; ++i) active.local_upsert(sample_flow(i));
  m.exchange(milliseconds(1500));
  const auto& peer = *backup.peers().at(active.config().node_id);
  EXPECT_EQ(peer.table().size(), 30u);
  EXPECT_TRUE(peer.complete());
  EXPECT_TRUE(backup.ready(m.now));
  EXPECT_FALSE(active.sender().has_unacked()) << "the backup's acks reach the active node";
}

TEST(MixedRelease, AnOlderActiveNodeReplicatesToANewBackup) {
  MixedPair m(true, false);
  replicate_and_check(m, *m.n1, *m.n2);
  EXPECT_TRUE(m.n2->legacy_peer_up(m.now));
  EXPECT_LE(m.refused_by_old, 2u) << "only what the new node sent before it heard the old one";
}

TEST(MixedRelease, ANewActiveNodeReplicatesToAnOlderBackup) {
  MixedPair m(false, true);
  replicate_and_check(m, *m.n1, *m.n2);
  EXPECT_LE(m.refused_by_old, 2u);
}

TEST(MixedRelease, TwoNewNodesNeverSealWithThePreSharedKeyItself) {
  MixedPair m(false, false);
  replicate_and_check(m, *m.n1, *m.n2);
  EXPECT_EQ(m.legacy_sealed, 0u);
  EXPECT_GT(m.derived_sealed, 0u);
}

// The upgrade as docs/operations.md tells it: the backup first, then the active node, and
// the pre-shared key itself no longer used once both run this release.
TEST(MixedRelease, UpgradingOneNodeAtATimeKeepsTheCopyAndEndsWithTheDerivedKey) {
  MixedPair m(true, true);
  replicate_and_check(m, *m.n1, *m.n2);
  m.upgrade(2);  // the backup
  m.n2->set_role(Role::backup, m.now);
  m.exchange(milliseconds(1500));
  EXPECT_EQ(m.n2->peers().at(1)->table().size(), 30u);
  EXPECT_TRUE(m.n2->ready(m.now));

  m.n1->set_role(Role::backup, m.now);  // the addresses move to the upgraded node
  m.n2->set_role(Role::active, m.now);
  m.n2->announce_table();
  for (std::uint32_t i = 31; i <= 40; ++i) m.n2->local_upsert(sample_flow(i));
  m.exchange(milliseconds(1000));
  EXPECT_EQ(m.n1->peers().at(2)->table().size(), 10u) << "the old node follows the new one";

  m.upgrade(1);
  m.n1->set_role(Role::backup, m.now);
  m.exchange(milliseconds(1500));
  EXPECT_EQ(m.n1->peers().at(2)->table().size(), 10u);
  EXPECT_TRUE(m.n1->ready(m.now));
  EXPECT_FALSE(m.n2->legacy_peer_up(m.now));
  const std::size_t legacy = m.legacy_sealed;
  m.exchange(milliseconds(1000));
  EXPECT_EQ(m.legacy_sealed, legacy) << "both upgraded: the derived key only";
}

TEST(KeyDerivation, TheSealingKeyIsDerivedFromTheKeyAndPinnedAcrossReleases) {
  SecretKey k;
  k.fill(0x11);
  KeyRing r = ring(1, 0x11);
  EXPECT_EQ(*r.find(1, Sealing::raw_key), k);
  EXPECT_NE(*r.find(1), k) << "datagrams are not sealed with the key itself";
  EXPECT_EQ(*r.find(1), derive_sealing_key(k));
  // Known answer: a change of context or subkey number would split a cluster across releases.
  char hex[65];
  const SecretKey d = derive_sealing_key(k);
  sodium_bin2hex(hex, sizeof hex, d.data(), d.size());
  EXPECT_STREQ(hex, "5417a2ff0e10824b59fd1f934b04293d9805680bc536b7c699a332edafbdc5b6");
}

TEST(Sealer, LegacySealingOffRefusesAndNeverSendsThePreSharedKeysSealing) {
  DatagramSealer legacy(ring(1, 0x11), 1500), strict(ring(1, 0x11), 1500, false);
  std::string sealed, plain;
  legacy.seal("old", sealed, Sealing::raw_key);
  EXPECT_EQ(sealed[2], 1);
  auto opened = legacy.open(sealed, plain);
  EXPECT_FALSE(opened.dropped);
  EXPECT_EQ(opened.sealing, Sealing::raw_key);
  EXPECT_EQ(strict.open(sealed, plain).dropped, DropReason::bad_version);
  strict.seal("new", sealed, Sealing::raw_key);
  EXPECT_EQ(sealed[2], 2) << "asked for the old sealing, it seals with the derived key";
  EXPECT_FALSE(legacy.open(sealed, plain).dropped);
}

}  // namespace
}  // namespace ctsync

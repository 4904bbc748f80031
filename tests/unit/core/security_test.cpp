// Hostile input on the sync network: what cannot be opened is dropped by reason before any
// parsing; genuine datagrams replayed are refused; nothing changes the receiver's copy.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "sealed_pair.hpp"

namespace ctsync {
namespace {

using Pair = test::SealedPair;
using test::ring;
using test::sample_flow;

// Locked memory of this process, from /proc/self/status (kB).
long locked_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(KeyRing, KeysLiveInLockedMemoryAndCopiesAreIndependent) {
  const long before = locked_kb();
  ASSERT_GE(before, 0);
  {
    KeyRing r = ring(1, 0x42);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer turns mlock into a no-op
    EXPECT_GT(locked_kb(), before) << "the key's page is locked (never swapped out)";
#endif
    const KeyRing copy = r;
    ASSERT_TRUE(copy.find(1));
    EXPECT_NE(copy.find(1), r.find(1)) << "a copy has its own locked allocation";
    EXPECT_EQ(*copy.find(1), *r.find(1));
    EXPECT_EQ(copy.send_id(), 1);
    KeyRing moved = std::move(r);
    EXPECT_EQ((*moved.find(1, Sealing::raw_key))[0], 0x42);
  }
  EXPECT_EQ(locked_kb(), before) << "freed (and wiped) with the rings";
}

TEST(Sealer, RoundTrip) {
  DatagramSealer s(ring(3, 0x42), 1500);
  std::string sealed, plain;
  s.seal("hello", sealed);
  EXPECT_EQ(sealed.size(), 5 + DatagramSealer::overhead);
  EXPECT_FALSE(s.open(sealed, plain).dropped);
  EXPECT_EQ(plain, "hello");
}

TEST(Sealer, NoncesDifferBetweenDatagrams) {
  DatagramSealer s(ring(3, 0x42), 1500);
  std::string a, b;
  s.seal("same", a);
  s.seal("same", b);
  EXPECT_NE(a.substr(4, 24), b.substr(4, 24));
  EXPECT_NE(a, b);
}

TEST(Sealer, EveryUnopenableDatagramHasItsReason) {
  DatagramSealer s(ring(3, 0x42), 1500);
  std::string sealed, plain;
  s.seal(std::string(100, 'x'), sealed);
  auto reason = [&](std::string d) { return s.open(d, plain).dropped; };

  std::string flipped = sealed;
  flipped[60] ^= 0x01;
  EXPECT_EQ(reason(flipped), DropReason::auth_failed);
  std::string header_flipped = sealed;
  header_flipped[10] ^= 0x80;  // the nonce is authenticated too
  EXPECT_EQ(reason(header_flipped), DropReason::auth_failed);
  EXPECT_EQ(reason(sealed.substr(0, 40)), DropReason::truncated);
  EXPECT_EQ(reason(sealed.substr(0, sealed.size() - 1)), DropReason::auth_failed);
  EXPECT_EQ(reason(std::string(2000, 'C')), DropReason::oversized);
  std::string magic = sealed;
  magic[0] = 'X';
  EXPECT_EQ(reason(magic), DropReason::bad_magic);
  std::string version = sealed;
  version[2] = 3;
  EXPECT_EQ(reason(version), DropReason::bad_version);
  std::string older = sealed;
  older[2] = 1;  // the header is authenticated, and version 1 opens with another key
  EXPECT_EQ(reason(older), DropReason::auth_failed);
  std::string unknown = sealed;
  unknown[3] = 9;
  EXPECT_EQ(reason(unknown), DropReason::unknown_key);

  DatagramSealer other(ring(3, 0x43), 1500);  // same id, different secret
  std::string forged;
  other.seal(std::string(100, 'x'), forged);
  EXPECT_EQ(reason(forged), DropReason::auth_failed);
}

TEST(Sealer, TwoKeysAcceptedDuringRotation) {
  KeyRing both = ring(1, 0x11);
  SecretKey k2;
  k2.fill(0x22);
  both.add(2, k2);
  DatagramSealer receiver(both, 1500);
  DatagramSealer old_sender(ring(1, 0x11), 1500), new_sender(ring(2, 0x22), 1500);
  std::string a, b, plain;
  old_sender.seal("old", a);
  new_sender.seal("new", b);
  EXPECT_FALSE(receiver.open(a, plain).dropped);
  EXPECT_FALSE(receiver.open(b, plain).dropped);
}

TEST(Security, BadDatagramsLeaveTheCopyUnchanged) {
  Pair p;
  for (std::uint32_t i = 1; i <= 20; ++i) p.a->local_upsert(sample_flow(i));
  p.exchange(milliseconds(200));
  ASSERT_EQ(p.copy().size(), 20u);
  const TableDigest before = p.b->peers().at(1)->digest();

  std::mt19937_64 rng(5);
  for (const auto& genuine : p.captured) {
    std::string d = genuine;
    d[DatagramSealer::header_size + rng() % (d.size() - DatagramSealer::header_size)] ^=
        static_cast<char>(1 + rng() % 255);
    p.deliver_to_b(d);
    p.deliver_to_b(genuine.substr(0, 30));
  }
  std::string garbage(1200, '\0');
  for (int i = 0; i < 1000; ++i) {
    for (auto& c : garbage) c = static_cast<char>(rng());
    p.deliver_to_b(garbage);
  }
  EXPECT_EQ(p.drops(DropReason::auth_failed), p.captured.size());
  EXPECT_EQ(p.drops(DropReason::truncated), p.captured.size());
  EXPECT_GE(p.drops(DropReason::bad_magic), 990u);
  EXPECT_EQ(p.b->peers().at(1)->digest(), before);
  EXPECT_EQ(p.copy().size(), 20u);
}

TEST(Security, MalformedButAuthenticPacketIsCounted) {
  Pair p;
  std::string sealed;
  p.sealer.seal("\xff\xff\xff garbage that is not a protobuf", sealed);
  p.deliver_to_b(sealed);
  EXPECT_EQ(p.drops(DropReason::malformed), 1u);
}

TEST(Security, DuplicateWithinWindowIsADuplicateNotAReplay) {
  Pair p;
  const std::size_t mark = p.captured.size();
  const Flow f = sample_flow(1);
  p.a->local_upsert(f);
  p.exchange(milliseconds(50));
  ASSERT_TRUE(p.copy().find(f.key));
  for (std::size_t i = mark; i < p.captured.size(); ++i) p.deliver_to_b(p.captured[i]);
  EXPECT_EQ(p.drops(DropReason::duplicate), p.captured.size() - mark);
  EXPECT_EQ(p.drops(DropReason::replay), 0u);
}

TEST(Security, UpsertReplayedAfterTheDeleteIsRefused) {
  Pair p;
  const std::size_t mark = p.captured.size();
  const Flow f = sample_flow(7);
  p.a->local_upsert(f);
  p.exchange(milliseconds(20));
  const std::vector<std::string> upsert(p.captured.begin() + static_cast<long>(mark),
                                        p.captured.end());
  p.a->local_erase(f.key);
  p.exchange(milliseconds(20));
  ASSERT_FALSE(p.copy().find(f.key));

  // At once: still inside the replay window, so it is a duplicate; never applied.
  for (const auto& d : upsert) p.deliver_to_b(d);
  EXPECT_FALSE(p.copy().find(f.key));
  EXPECT_GE(p.drops(DropReason::duplicate), upsert.size());

  // Much later, once the window has moved on (64 datagrams here): a replay.
  p.exchange(seconds(20));  // heartbeats move the sender's datagram counter
  for (const auto& d : upsert) p.deliver_to_b(d);
  EXPECT_FALSE(p.copy().find(f.key));
  EXPECT_EQ(p.drops(DropReason::replay), upsert.size());
}

TEST(Security, DatagramFromBeforeTheSenderRestartedIsAReplay) {
  Pair p;
  const Flow f = sample_flow(9);
  p.a->local_upsert(f);
  p.exchange(milliseconds(20));
  const std::vector<std::string> old_boot = p.captured;

  // The sender restarts with a later boot id and an empty table.
  EngineConfig restarted = p.ca;
  restarted.boot_id = p.ca.boot_id + 1;
  p.a = std::make_unique<SyncEngine>(restarted, nullptr, p.now);
  p.a->set_role(Role::active, p.now);
  p.a->announce_table();
  p.exchange(milliseconds(300));
  ASSERT_FALSE(p.copy().find(f.key)) << "the new boot's bulk removed the flow";

  const auto replays_before = p.drops(DropReason::replay);
  for (const auto& d : old_boot) p.deliver_to_b(d);
  EXPECT_EQ(p.drops(DropReason::replay) - replays_before, old_boot.size());
  EXPECT_FALSE(p.copy().find(f.key));
}

// The receiver never saw these (it started after they were sent), so its window has no mark
// for them; a window without a floor took their replay as news, and their heartbeats' old
// role overwrote the peer's current one.
TEST(Security, ReplayOfDatagramsSentBeforeJoiningChangesNothing) {
  Pair p;
  p.a->set_role(Role::backup, p.now);
  p.exchange(milliseconds(30));
  p.hold = true;  // b is not running: a's backup-time heartbeats reach nobody
  p.exchange(milliseconds(30));
  p.a->set_role(Role::active, p.now);
  p.a->announce_table();
  const Flow f = sample_flow(3);
  p.a->local_upsert(f);
  p.exchange(milliseconds(20));
  p.restart_b();
  p.hold = false;
  p.exchange(milliseconds(300));
  ASSERT_EQ(p.role_seen_by_b(), Role::active);
  ASSERT_TRUE(p.copy().find(f.key));
  ASSERT_TRUE(p.b->peers().at(1)->complete());
  ASSERT_LT(p.captured.size(), 64u) << "all of them inside the receiver's window";

  const auto received_before = p.b->counters().datagrams_received;
  for (const auto& d : p.held) p.deliver_to_b(d);
  EXPECT_EQ(p.drops(DropReason::stale), p.held.size()) << "every one counted, as stale";
  EXPECT_EQ(p.b->counters().datagrams_received - received_before, p.held.size());
  EXPECT_EQ(p.role_seen_by_b(), Role::active) << "an old heartbeat's role is not news";
  EXPECT_TRUE(p.copy().find(f.key));
  EXPECT_TRUE(p.b->peers().at(1)->complete());
}

// A datagram lost on the way and replayed later: its stream packet is still news if the
// stream lacks it (the stream puts it in order); nothing else of it is.
TEST(Security, LateDatagramTakesOnlyItsStreamPacket) {
  Pair p;
  const Flow f1 = sample_flow(11), f2 = sample_flow(12);
  p.hold = true;
  p.a->local_upsert(f1);
  p.exchange(milliseconds(20));
  const std::size_t first = p.held.size();
  p.a->local_upsert(f2);
  p.exchange(milliseconds(20));
  ASSERT_GT(first, 0u);
  ASSERT_GT(p.held.size(), first);
  for (std::size_t i = first; i < p.held.size(); ++i) p.deliver_to_b(p.held[i]);
  EXPECT_FALSE(p.copy().find(f2.key)) << "f2 waits for the stream packet before it";
  for (std::size_t i = 0; i < first; ++i) p.deliver_to_b(p.held[i]);
  EXPECT_TRUE(p.copy().find(f1.key)) << "the late stream packet was taken";
  EXPECT_TRUE(p.copy().find(f2.key)) << "and the stream moved on past it";
  EXPECT_EQ(p.drops(DropReason::replay), 0u);

  // The same late datagrams again: duplicates now.
  const auto dup = p.drops(DropReason::duplicate);
  for (std::size_t i = 0; i < first; ++i) p.deliver_to_b(p.held[i]);
  EXPECT_EQ(p.drops(DropReason::duplicate) - dup, first);
}

// Lost while the sender was a backup, replayed once it is active again: the old role stays
// out.
TEST(Security, LateHeartbeatDoesNotTurnBackThePeersRole) {
  Pair p;
  p.a->set_role(Role::backup, p.now);
  p.hold = true;
  p.exchange(milliseconds(30));
  p.hold = false;
  p.a->set_role(Role::active, p.now);
  p.exchange(milliseconds(30));
  ASSERT_EQ(p.role_seen_by_b(), Role::active);
  ASSERT_FALSE(p.held.empty());
  const auto stale_before = p.drops(DropReason::stale);
  for (const auto& d : p.held) p.deliver_to_b(d);
  EXPECT_EQ(p.drops(DropReason::stale) - stale_before, p.held.size());
  EXPECT_EQ(p.role_seen_by_b(), Role::active);
}

}  // namespace
}  // namespace ctsync

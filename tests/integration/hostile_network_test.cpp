// An attacker on the sync network: forged, replayed, truncated, oversized and random
// datagrams. None may change a node's tables or kernel; each is counted under its reason;
// replication keeps flowing during the flood.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/packet_parts.hpp"
#include "ctsync/v1/sync.pb.h"
#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "net/datagram_sealer.hpp"
#include "pair_topology.hpp"
#include "routed_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

using test::writer_in;

nlohmann::json dropped(const PairTopology& t, int node) {
  return t.stats(node)["dropped"];
}

// A host on the sync bridge that listens to the group (capturing genuine datagrams) and
// sends whatever it likes to it.
class Attacker {
 public:
  explicit Attacker(PairTopology& t) : ns_("atk") {
    const std::string a = "va" + std::to_string(::getpid() % 100000) + "x",
                      b = "va" + std::to_string(::getpid() % 100000) + "y";
    test::sh_or_throw("ip link add " + a + " type veth peer name " + b);
    test::sh_or_throw("ip link set " + a + " netns " + ns_.name() + " name eth0");
    test::sh_or_throw("ip link set " + b + " netns " + t.sw.name());
    t.sw.must("ip link set " + b + " master br-sync && ip link set " + b + " up");
    ns_.must("ip addr add 10.10.3.66/24 dev eth0 && ip link set eth0 up");
    fd_ = test::socket_in(ns_, AF_INET, SOCK_DGRAM);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(3780);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any);
    ip_mreqn m{};
    inet_pton(AF_INET, "239.255.12.1", &m.imr_multiaddr);
    m.imr_ifindex = static_cast<int>(std::stoi(ns_.output("cat /sys/class/net/eth0/ifindex")));
    ::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
    const int big = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    test::set_nonblocking(fd_);
  }
  ~Attacker() { ::close(fd_); }

  // Everything heard on the group so far.
  void capture() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      captured.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }
  void send(const std::string& d) {
    sockaddr_in g{};
    g.sin_family = AF_INET;
    g.sin_port = htons(3780);
    inet_pton(AF_INET, "239.255.12.1", &g.sin_addr);
    ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&g), sizeof g);
  }

  std::vector<std::string> captured;

 private:
  test::Namespace ns_;
  int fd_ = -1;
};

// Which node sent a captured datagram: opened with the pair's key, as a peer would.
std::uint32_t sender_of(const PairTopology& t, const std::string& sealed) {
  auto key = load_key_file(t.dir + "/sync.key", false);
  if (!key) throw std::runtime_error(key.error().message);
  KeyRing ring;
  ring.add(1, *key);
  (void)ring.set_send_id(1);
  DatagramSealer sealer(ring, 65535);
  std::string plain;
  if (sealer.open(sealed, plain).dropped)
    throw std::runtime_error("a captured datagram did not open");
  PacketParts parts;
  v1::Packet p;
  if (!split_packet(plain, parts) || !p.ParseFromString(parts.control)) {
    throw std::runtime_error("a captured datagram did not parse");
  }
  return p.node_id();
}

KeyRing wrong_key(std::uint8_t id) {
  KeyRing r;
  SecretKey k;
  k.fill(0x66);
  r.add(id, k);
  (void)r.set_send_id(id);
  return r;
}

TEST(HostileNetwork, NothingForgedReplayedOrBrokenChangesAnyTable) {
  PairTopology t;
  Attacker atk(t);
  t.start_daemon(1);
  // fw1 speaks for a while before fw2 starts: fw2 never sees these datagrams, so its window
  // holds no mark for them. Their replay must still not pass as news.
  std::this_thread::sleep_for(400ms);
  atk.capture();
  const std::size_t before_fw2_started = atk.captured.size();
  ASSERT_GT(before_fw2_started, 0u) << "fw1 heartbeats while alone";
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);

  // Genuine traffic the attacker records: 200 flows created, then 100 of them deleted.
  const auto flows = test::kernel_valid_flows(200, 41);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == 200; }, 10000ms));
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < 100; ++i) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == 100; }, 10000ms));
  atk.capture();
  ASSERT_GT(atk.captured.size(), before_fw2_started + 5)
      << "the attacker must have heard the stream";
  std::size_t from_fw1 = 0, from_fw2 = 0;
  for (const auto& d : atk.captured) (sender_of(t, d) == 1 ? from_fw1 : from_fw2) += 1;
  ASSERT_EQ(from_fw1 + from_fw2, atk.captured.size());
  // The backup (external mode) never writes peers' flows to its kernel; nothing an attacker
  // sends may make it.
  auto test_flows_in_fw2_kernel = [&] {
    return std::stoul(t.fw2.output(
        "conntrack -L 2>/dev/null | grep -c -E \"dst=(198[.]51[.]100[.]|2001:db8:)\" || true"));
  };
  ASSERT_EQ(test_flows_in_fw2_kernel(), 0u);
  const auto before = dropped(t, 2);
  auto dropped_since = [&](const nlohmann::json& since) {
    const auto now = dropped(t, 2);
    std::uint64_t n = 0;
    for (const auto& [reason, count] : now.items()) {
      n += count.get<std::uint64_t>() - since[reason].get<std::uint64_t>();
    }
    return n;
  };

  // Counted attacks, each kind a known number of times.
  DatagramSealer forger(wrong_key(1), 1500);  // the right key id, the wrong secret
  DatagramSealer stranger(wrong_key(9), 1500);
  std::string sealed;
  for (int i = 0; i < 50; ++i) {
    forger.seal(atk.captured[static_cast<std::size_t>(i) % atk.captured.size()].substr(44), sealed);
    atk.send(sealed);
    stranger.seal("hello", sealed);
    atk.send(sealed);
    atk.send(atk.captured.front().substr(0, 20));  // truncated
    atk.send(std::string(1600, 'C'));              // larger than the sync MTU
  }
  // Replays of every genuine datagram: the upserts of the flows deleted since come back.
  for (const auto& d : atk.captured) atk.send(d);
  // Every datagram sent is refused under some reason: wait for all of them to be counted (an
  // uncounted one shows as a time-out here), then check which reason each kind got.
  const std::uint64_t attacks = 4 * 50 + atk.captured.size();
  EXPECT_TRUE(PairTopology::wait_for([&] { return dropped_since(before) >= attacks; }, 10000ms))
      << dropped_since(before) << " of " << attacks << " datagrams counted";
  const auto after = dropped(t, 2);
  auto grew = [&](const char* reason) {
    return after[reason].get<std::uint64_t>() - before[reason].get<std::uint64_t>();
  };
  EXPECT_EQ(dropped_since(before), attacks) << "nothing else was dropped";
  EXPECT_EQ(grew("auth_failed"), 50u);
  EXPECT_EQ(grew("unknown_key"), 50u);
  EXPECT_EQ(grew("truncated"), 50u);
  EXPECT_EQ(grew("oversized"), 50u);
  // fw2's own datagrams, heard back with its own node id.
  EXPECT_EQ(grew("own"), from_fw2);
  // fw1's: those fw2 received are duplicates; those sent before fw2 started (and any fw2
  // lost, which the stream has repaired since) were never seen and are stale. None is news.
  EXPECT_EQ(grew("duplicate") + grew("stale"), from_fw1);
  EXPECT_GE(grew("stale"), before_fw2_started);
  EXPECT_EQ(grew("replay"), 0u) << "every one of them is from fw1's current boot";
  EXPECT_EQ(t.external_count(2), 100u) << "no deleted flow came back";
  const auto fw2_peers = nlohmann::json::parse(t.ctl_output(2, "status --json"))["peers"];
  ASSERT_EQ(fw2_peers.size(), 1u);
  EXPECT_EQ(fw2_peers[0]["role"], "active")
      << "fw1's old heartbeats (a backup then) did not turn back its role";

  // A flood of random datagrams while the active node keeps working: replication must keep
  // up (bounded lag) and nothing must change but what the active node really did.
  std::atomic<bool> flooding{true};
  std::atomic<std::size_t> sent{0};
  std::thread flood([&] {
    std::mt19937_64 rng(7);
    std::string junk(600, '\0');
    while (flooding) {
      for (auto& c : junk) c = static_cast<char>(rng());
      atk.send(junk);
      ++sent;
    }
  });
  const auto flood_start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(500ms);
  const auto more = test::kernel_valid_flows(100, 42, 70000);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(w.upsert(more, r).ok());
  const bool caught_up =
      PairTopology::wait_for([&] { return t.external_count(2) == 200; }, 10000ms);
  const double lag = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_until(flood_start + 3s);
  flooding = false;
  flood.join();
  EXPECT_TRUE(caught_up);
  EXPECT_LT(lag, 3.0) << "replication lag during a flood of " << sent << " datagrams";
  EXPECT_GT(dropped(t, 2)["bad_magic"].get<std::uint64_t>(), 1000u);
  std::printf("[ flood ] %zu random datagrams sent; new flows replicated in %.2f s\n", sent.load(),
              lag);

  // A datagram from before the sender restarted is a replay, whatever its counter.
  ASSERT_EQ(t.d1.kill(SIGTERM), 0);
  t.start_daemon(1);
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl(2, "ready") == 0 && t.external_count(2) == 200; }, 10000ms));
  const auto before_replay = dropped(t, 2);
  for (const auto& d : atk.captured) atk.send(d);
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return dropped_since(before_replay) >= atk.captured.size(); }, 10000ms))
      << dropped_since(before_replay) << " of " << atk.captured.size() << " datagrams counted";
  const auto after_replay = dropped(t, 2);
  auto grew_since_restart = [&](const char* reason) {
    return after_replay[reason].get<std::uint64_t>() - before_replay[reason].get<std::uint64_t>();
  };
  EXPECT_EQ(grew_since_restart("replay"), from_fw1) << "fw1's datagrams from its earlier boot";
  EXPECT_EQ(grew_since_restart("own"), from_fw2);
  EXPECT_EQ(dropped_since(before_replay), atk.captured.size()) << "nothing else was dropped";
  EXPECT_EQ(t.external_count(2), 200u);
  EXPECT_EQ(test_flows_in_fw2_kernel(), 0u) << "the backup's kernel was never touched";
  EXPECT_TRUE(t.d1.running() && t.d2.running());
}

// docs/security.md "Replay across a restart": the active node's stream is recorded from its
// start; the backup's daemon restarts while fw1's datagrams do not reach it; the recording,
// whole or only the tail heard just before the restart, is replayed. Nothing may be taken:
// the six flows fw1 closed stay closed in fw2's copy, until fw1 speaks again. Then the same
// restart with fw2's memory of its peers removed (a lost state directory): the window now
// lets the recording through, and the second defence holds: fw1's bulks name an earlier
// start of fw2, so nothing of its stream is applied. (The control with neither defence,
// a sender of a release before 0.2.0, is RestartReplay.NegativeControl... in the unit tests.)
TEST(HostileNetwork, ARecordedStreamReplayedToARestartedBackupIsRefused) {
  PairTopology t;
  Attacker atk(t);
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);
  const auto flows = test::kernel_valid_flows(7, 43);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == 7; }, 10000ms));
  atk.capture();
  auto fw1_only = [&](std::size_t from) {
    std::vector<std::string> out;
    for (std::size_t i = from; i < atk.captured.size(); ++i) {
      if (sender_of(t, atk.captured[i]) == 1) out.push_back(atk.captured[i]);
    }
    return out;
  };
  const std::vector<std::string> while_open = fw1_only(0);
  std::vector<FlowKey> closed;
  for (std::size_t i = 0; i < 6; ++i) closed.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(closed, errors).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == 1; }, 10000ms));
  std::this_thread::sleep_for(300ms);  // heartbeats: the tail the backup hears last
  atk.capture();
  const std::vector<std::string> tail = fw1_only(atk.captured.size() - 6);
  ASSERT_FALSE(tail.empty());

  // fw1's datagrams no longer reach fw2 (the attacker's, from its own address, still do).
  auto silence_fw1 = [&] {
    t.fw2.must(
        "nft add table inet silence && nft add chain inet silence in \"{ type filter hook input "
        "priority -200; }\" && nft add rule inet silence in ip saddr 10.10.3.2 udp dport 3780 "
        "drop");
  };
  silence_fw1();
  auto restart_fw2 = [&] {
    ASSERT_EQ(t.d2.kill(SIGTERM), 0);
    t.start_daemon(2);
  };
  auto replay_refused = [&](const std::vector<std::string>& recording) {
    const auto before = dropped(t, 2)["replay"].get<std::uint64_t>();
    for (const auto& d : recording) atk.send(d);
    const bool counted = PairTopology::wait_for(
        [&] { return dropped(t, 2)["replay"].get<std::uint64_t>() - before >= recording.size(); },
        10000ms);
    EXPECT_TRUE(counted) << dropped(t, 2).dump();
    EXPECT_EQ(t.external_count(2), 0u) << "nothing of the recording reached fw2's copy";
  };
  restart_fw2();
  replay_refused(while_open);
  restart_fw2();
  replay_refused(tail);

  // fw1 speaks again: followed, its table complete, the closed flows still closed.
  t.fw2.must("nft delete table inet silence");
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl(2, "ready") == 0 && t.external_count(2) == 1; }, 10000ms))
      << t.external_count(2);

  // A backup that forgot its peers at the restart: the recording is not a replay to it.
  silence_fw1();
  ASSERT_EQ(t.d2.kill(SIGTERM), 0);
  std::filesystem::remove(t.dir + "/state2/peers");
  t.start_daemon(2);
  auto passed_over = [&] {
    return t.stats(2)["sync"]["stream_before_bound_bulk"].get<std::uint64_t>();
  };
  const auto replays = dropped(t, 2)["replay"].get<std::uint64_t>();
  for (const auto& d : while_open) atk.send(d);
  EXPECT_TRUE(PairTopology::wait_for([&] { return passed_over() >= 2; }, 10000ms))
      << "the recording's stream reached fw2 and was passed over: " << passed_over();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(dropped(t, 2)["replay"].get<std::uint64_t>(), replays)
      << "nothing remembered to refuse it by";
  EXPECT_EQ(t.external_count(2), 0u) << "the six closed flows stay out";

  t.fw2.must("nft delete table inet silence");
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl(2, "ready") == 0 && t.external_count(2) == 1; }, 10000ms))
      << t.external_count(2);
}

}  // namespace
}  // namespace ctsync

// Three firewalls on one LAN, one WAN and one sync link, real keepalived with priorities
// 150/100/50 and the readiness track script, SNAT, nf_conntrack_tcp_loose=0. fw1 crashes,
// fw2 takes over; sessions close and open through fw2; fw2 crashes, fw3 takes over with every
// live session and none of the closed ones (fw3 also held a copy of fw1's table). fw1 and fw2
// boot again empty, fetch the table, and the cluster fails back to fw1 by priority.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "alert_recording.hpp"
#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;
using test::SessionPool;
using test::writer_in;

constexpr int kDoomedPort = 5003;  // sessions that end through fw2, after the first failover
constexpr int kNewPort = 5004;     // sessions opened through fw2

std::string logs(PairTopology& t) {
  std::string out;
  for (int n = 1; n <= t.nodes(); ++n) out += t.daemon(n).log() + t.notify_log(n);
  return out;
}

// Flows of `node`'s copies of its peers whose original direction goes to `port`.
std::size_t external_to_port(const PairTopology& t, int node, int port) {
  const auto flows = nlohmann::json::parse(t.ctl_output(node, "flows --external --json"));
  std::size_t n = 0;
  const std::string needle = " dport=" + std::to_string(port);
  for (const auto& f : flows) {
    const std::string original = f["original"];
    if (original.size() >= needle.size() &&
        original.compare(original.size() - needle.size(), needle.size(), needle) == 0)
      ++n;
  }
  return n;
}

// Conntrack entries in `node`'s kernel for TCP connections to `port`.
std::size_t kernel_to_port(const PairTopology& t, int node, int port) {
  const std::string out =
      t.fw(node).output("conntrack -L -p tcp --dport " + std::to_string(port) + " 2>/dev/null");
  std::size_t n = 0;
  for (char c : out) n += c == '\n';
  return n;
}

void expect_sessions_survive(PairTopology& t, SessionPool& pool, int node, const char* when) {
  ASSERT_TRUE(
      PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw(node)); }, 20000ms))
      << when << ": fw" << node << " never took the addresses\n"
      << logs(t);
  const auto held = test::SteadyClock::now();
  std::size_t reset = 0;
  const auto tcp = pool.tcp_round_trips(held, 3s, false, &reset);
  std::size_t moved = 0;
  const auto udp = pool.udp_server_first(held, 3s, &moved);
  EXPECT_EQ(tcp.passed(), pool.tcp_count()) << when << " (" << reset << " reset)\n" << logs(t);
  EXPECT_EQ(udp.passed(), pool.udp_count()) << when;
  EXPECT_EQ(moved, 0u) << when << ": NAT source ports changed";
  std::printf("[ %s: %s, %s ] tcp worst %.3f s, udp worst %.3f s after the addresses moved\n", when,
              t.options().cache_mode.c_str(), t.options().unicast ? "unicast" : "multicast",
              tcp.worst(), udp.worst());
}

bool role_is(const PairTopology& t, int node, const std::string& role) {
  const auto j = nlohmann::json::parse(t.ctl_output(node, "status --json"), nullptr, false);
  return !j.is_discarded() && j.value("role", "") == role;
}

bool ready(PairTopology& t, int node) {
  return PairTopology::wait_for([&] { return t.ctl(node, "ready") == 0; }, 15000ms);
}

class ThreeNodes : public ::testing::TestWithParam<std::tuple<std::string, bool>> {
 protected:
  PairOptions options() const {
    PairOptions o;
    o.nodes = 3;
    o.snat = true;
    o.cache_mode = std::get<0>(GetParam());
    o.unicast = std::get<1>(GetParam());
    return o;
  }
};

TEST_P(ThreeNodes, TwoCrashesInARowThenFailbackByPriority) {
  PairTopology t(options());
  for (int n = 1; n <= 3; ++n) t.start_daemon(n);
  for (int n = 1; n <= 3; ++n) t.start_keepalived(n);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 15000ms))
      << t.k1.log();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl_output(1, "status").find("active") != std::string::npos; }, 5000ms));
  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  pool.open_udp(5, "fd10:2::20", 6100);
  auto doomed = std::make_unique<SessionPool>(t.client, t.server);
  doomed->open_tcp(10, "10.10.2.20", kDoomedPort);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  ASSERT_TRUE(ready(t, 2)) << t.ctl_output(2, "status");
  ASSERT_TRUE(ready(t, 3)) << t.ctl_output(3, "status");
  ASSERT_TRUE(
      PairTopology::wait_for([&] { return external_to_port(t, 3, kDoomedPort) == 10; }, 5000ms));

  t.crash(1);
  expect_sessions_survive(t, pool, 2, "crash of fw1, fw2 takes over");

  // Through fw2: ten sessions end (and leave its table), ten new ones open.
  doomed.reset();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] {
        t.fw2.run("conntrack -D -p tcp --dport " + std::to_string(kDoomedPort) +
                  " >/dev/null 2>&1");
        return kernel_to_port(t, 2, kDoomedPort) == 0;
      },
      5000ms));
  SessionPool fresh(t.client, t.server);
  fresh.open_tcp(10, "10.10.2.20", kNewPort);
  ASSERT_EQ(fresh.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), fresh.tcp_count());

  // fw3 follows fw2: the new sessions in, the ended ones out, fw1's stale copy gone.
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        return external_to_port(t, 3, kNewPort) == 10 && external_to_port(t, 3, kDoomedPort) == 0 &&
               external_to_port(t, 3, 5001) == 20;
      },
      10000ms))
      << "fw3's copy: " << external_to_port(t, 3, kNewPort) << " new, "
      << external_to_port(t, 3, kDoomedPort) << " ended\n"
      << t.ctl_output(3, "status");
  ASSERT_TRUE(ready(t, 3)) << t.ctl_output(3, "status");

  t.crash(2);
  expect_sessions_survive(t, pool, 3, "crash of fw2, fw3 takes over");
  const auto held = test::SteadyClock::now();
  EXPECT_EQ(fresh.tcp_round_trips(held, 3s).passed(), fresh.tcp_count())
      << "sessions opened after the first failover";
  EXPECT_EQ(kernel_to_port(t, 3, kDoomedPort), 0u)
      << "fw3 reopened sessions that ended through fw2:\n"
      << t.fw3_->output("conntrack -L -p tcp --dport " + std::to_string(kDoomedPort));

  // fw1 and fw2 boot again with empty tables; fw1 takes the addresses back once it is ready.
  t.reboot(2);
  t.reboot(1);
  expect_sessions_survive(t, pool, 1, "failback to fw1 by priority");
  EXPECT_EQ(fresh.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), fresh.tcp_count());
  EXPECT_EQ(kernel_to_port(t, 1, kDoomedPort), 0u);
}

// The CI subset covers both cache modes and both transports in two runs; the other two
// combinations run under the `slow` label (see tests/CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Modes, ThreeNodes,
                         ::testing::Combine(::testing::Values("external", "direct"),
                                            ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) +
                                  (std::get<1>(param_info.param) ? "_unicast" : "_multicast");
                         });

// Three nodes up, fw1 active with the sessions, fw2 and fw3 ready.
void bring_up(PairTopology& t, SessionPool& pool, SessionPool& doomed) {
  for (int n = 1; n <= 3; ++n) t.start_daemon(n);
  for (int n = 1; n <= 3; ++n) t.start_keepalived(n);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 15000ms))
      << t.k1.log();
  ASSERT_TRUE(PairTopology::wait_for([&] { return role_is(t, 1, "active"); }, 5000ms))
      << t.ctl_output(1, "status");
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  doomed.open_tcp(10, "10.10.2.20", kDoomedPort);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  ASSERT_TRUE(ready(t, 2)) << t.ctl_output(2, "status");
  ASSERT_TRUE(ready(t, 3)) << t.ctl_output(3, "status");
}

// Ends the doomed sessions through `node`, the active one, and waits until its table has none.
void end_doomed(PairTopology& t, int node, std::unique_ptr<SessionPool>& doomed) {
  doomed.reset();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] {
        t.fw(node).run("conntrack -D -p tcp --dport " + std::to_string(kDoomedPort) +
                       " >/dev/null 2>&1");
        return kernel_to_port(t, node, kDoomedPort) == 0;
      },
      5000ms));
}

// Every backup's copies hold the active node's sessions once, and none of the ended ones.
bool copies_follow(const PairTopology& t, int active) {
  for (int n = 1; n <= t.nodes(); ++n) {
    if (n == active) continue;
    if (external_to_port(t, n, 5001) != 20 || external_to_port(t, n, 5002) != 20 ||
        external_to_port(t, n, kDoomedPort) != 0)
      return false;
  }
  return true;
}

std::string copies(const PairTopology& t) {
  std::string out;
  for (int n = 1; n <= t.nodes(); ++n) {
    out += "fw" + std::to_string(n) + ": " + std::to_string(external_to_port(t, n, 5001)) + "/" +
           std::to_string(external_to_port(t, n, 5002)) + "/" +
           std::to_string(external_to_port(t, n, kDoomedPort)) + " (5001/5002/ended)\n";
  }
  return out;
}

// fw1 hands over cleanly (keepalived stops, its goodbye moves the addresses to fw2) and stays
// up as a backup: it follows fw2, and its kernel holds nothing of its own time as active that
// fw2 has ended (external mode: once its purge has run, nothing of that time at all; direct
// mode: it holds fw2's flows, and an ended one leaves with fw2's delete). Then fw1 takes over
// again by priority.
class ThreeNodeSwitchover : public ::testing::TestWithParam<std::string> {};

TEST_P(ThreeNodeSwitchover, TheOldActiveNodeFollowsTheNewOneAndKeepsNothingStale) {
  PairOptions o;
  o.nodes = 3;
  o.snat = true;
  o.cache_mode = GetParam();
  o.cache_config = "purge_after_s = 1\npurge_timeout_s = 2\n";
  PairTopology t(o);
  SessionPool pool(t.client, t.server);
  auto doomed = std::make_unique<SessionPool>(t.client, t.server);
  bring_up(t, pool, *doomed);
  ASSERT_NE(t.k1.kill(SIGTERM), -1);
  expect_sessions_survive(t, pool, 2, "switchover to fw2");
  end_doomed(t, 2, doomed);
  EXPECT_TRUE(PairTopology::wait_for([&] { return copies_follow(t, 2); }, 10000ms)) << copies(t);
  // External: the purge gave fw1's entries of its time as active a 2 s timeout; no traffic
  // renews them. Direct: fw1's kernel keeps fw2's live flows.
  const bool direct = GetParam() == "direct";
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        return kernel_to_port(t, 1, kDoomedPort) == 0 &&
               kernel_to_port(t, 1, 5001) == (direct ? 20u : 0u);
      },
      15000ms))
      << t.fw1.output("conntrack -L -p tcp 2>/dev/null");
  ASSERT_TRUE(ready(t, 1)) << t.ctl_output(1, "status");
  t.start_keepalived(1);
  expect_sessions_survive(t, pool, 1, "fw1 takes over again");
  EXPECT_EQ(kernel_to_port(t, 1, kDoomedPort), 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ThreeNodeSwitchover, ::testing::Values("external", "direct"));

// fw3 starts while fw1 and fw2 run with live sessions and 20 000 more flows, on a link that
// loses a third of its full-size sync datagrams (so its first bulk takes a while; heartbeats,
// small, all pass): it reports ready only
// once its copy holds every flow of fw1's table.
TEST(ThreeNodeCluster, ALateJoinerIsReadyOnlyWithTheWholeTable) {
  PairOptions o;
  o.nodes = 3;
  o.snat = true;
  PairTopology t(o);
  for (int n = 1; n <= 2; ++n) t.start_daemon(n);
  for (int n = 1; n <= 2; ++n) t.start_keepalived(n);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 15000ms));
  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  ConntrackWriter w = writer_in(t.fw1);
  std::vector<WriteResult> written;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(20000, 31), written).ok());
  ASSERT_TRUE(ready(t, 2));
  const std::size_t table =
      nlohmann::json::parse(t.ctl_output(1, "flows --internal --json")).size();
  ASSERT_GE(table, 20040u);
  t.fw3_->must(
      "nft add table inet lossy && nft add chain inet lossy in \"{ type filter hook input "
      "priority -300; }\" && nft add rule inet lossy in udp dport 3780 meta length gt 1000 "
      "numgen random mod 3 == 0 drop");
  t.start_daemon(3);
  bool was_ready = false;
  std::size_t held_when_ready = 0;
  for (int i = 0; i < 500 && !was_ready; ++i) {  // 10 s at most
    if (t.ctl(3, "ready") == 0) {
      was_ready = true;
      held_when_ready = nlohmann::json::parse(t.ctl_output(3, "flows --external --json")).size();
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_TRUE(was_ready) << t.ctl_output(3, "status");
  EXPECT_GE(held_when_ready, table) << "ready before its copy was whole";
  t.fw3_->must("nft delete table inet lossy");
  // Its status lists both peers with their roles and the state of its copies.
  const std::string status = t.ctl_output(3, "status");
  EXPECT_NE(status.find("peer 1: up, active"), std::string::npos) << status;
  EXPECT_NE(status.find("peer 2: up, backup"), std::string::npos) << status;
  t.start_keepalived(3);
  // And it can carry the sessions: fw1 and fw2 go, fw3 takes over.
  t.crash(1);
  expect_sessions_survive(t, pool, 2, "crash of fw1");
  ASSERT_TRUE(ready(t, 3)) << t.ctl_output(3, "status");
  t.crash(2);
  expect_sessions_survive(t, pool, 3, "crash of fw2, the late joiner takes over");
}

// A VRRP partition: fw2 stops hearing the others' adverts and becomes active beside fw1 (it
// commits its copy of fw1, so the sessions it draws keep flowing). The partition heals and fw2
// steps down. Then every copy equals fw1's table (fw2's copy of the split is dropped on fw3),
// fw2's purge leaves no stale entries, the sessions through fw1 survive, and the
// multiple-active alert fired on the series recorded during the split.
TEST(ThreeNodeCluster, ASplitBrainHealsWithTheLoserHoldingNothingStale) {
  PairOptions o;
  o.nodes = 3;
  o.snat = true;
  o.metrics = true;
  o.cache_config = "purge_after_s = 1\npurge_timeout_s = 2\n";
  PairTopology t(o);
  SessionPool pool(t.client, t.server);
  auto doomed = std::make_unique<SessionPool>(t.client, t.server);
  bring_up(t, pool, *doomed);
  test::Recording rec[3];
  auto record = [&] {
    for (int n = 1; n <= 3; ++n) rec[n - 1].take(t.scrape(n), {"ctsync_role{"});
  };
  for (int n = 1; n <= 3; ++n) rec[n - 1].instance = "fw" + std::to_string(n);
  for (int i = 0; i < 3; ++i) {
    record();
    std::this_thread::sleep_for(1000ms);
  }
  const std::size_t split_at = rec[0].samples;
  t.fw2.must(
      "nft add table inet split && nft add chain inet split in \"{ type filter hook input "
      "priority -300; }\" && nft add rule inet split in meta l4proto vrrp drop");
  ASSERT_TRUE(PairTopology::wait_for([&] { return role_is(t, 2, "active"); }, 10000ms))
      << t.notify_log(2);
  EXPECT_TRUE(role_is(t, 1, "active"));
  // fw3 sees both as active, in its peer metrics.
  std::string seen;
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        seen = t.scrape(3);
        return PairTopology::metric(seen, "ctsync_peer_role{peer=\"1\",role=\"active\"}") == 1 &&
               PairTopology::metric(seen, "ctsync_peer_role{peer=\"2\",role=\"active\"}") == 1;
      },
      5000ms, 200ms))
      << seen;
  for (int i = 0; i < 3; ++i) {
    record();
    std::this_thread::sleep_for(1000ms);
  }
  // The split lasted seconds here; its last sample stands for 90 more, past the rule's `for`.
  for (auto& r : rec) r.stretch_last(90);
  const std::size_t healed_at = rec[0].samples + 90;
  t.fw2.must("nft delete table inet split");
  ASSERT_TRUE(PairTopology::wait_for([&] { return role_is(t, 2, "backup"); }, 10000ms))
      << t.notify_log(2);
  // The winner's gratuitous ARP brings the LAN and the WAN back to it (keepalived sends it when
  // a lower priority advert reaches the master: vrrp_garp_lower_prio_repeat).
  t.client.run("ip neigh flush dev eth0");
  t.server.run("ip neigh flush dev eth0");
  for (int i = 0; i < 3; ++i) {
    record();
    std::this_thread::sleep_for(1000ms);
  }
  end_doomed(t, 1, doomed);
  EXPECT_TRUE(PairTopology::wait_for([&] { return copies_follow(t, 1); }, 10000ms)) << copies(t);
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return kernel_to_port(t, 2, 5001) == 0 && kernel_to_port(t, 2, kDoomedPort) == 0; },
      15000ms))
      << "fw2 kept entries of its time as active:\n"
      << t.fw2.output("conntrack -L -p tcp 2>/dev/null");
  const auto held = test::SteadyClock::now();
  EXPECT_EQ(pool.tcp_round_trips(held, 3s).passed(), pool.tcp_count()) << logs(t);

  const std::string path = t.dir + "/split_brain.yml";
  std::ofstream(path) << "rule_files:\n  - " << CTSYNC_SOURCE_DIR
                      << "/packaging/prometheus/ctsyncd-alerts.yml\nevaluation_interval: "
                         "10s\ntests:\n  - interval: 1s\n    input_series:\n"
                      << rec[0].input_series(300) << rec[1].input_series(300)
                      << rec[2].input_series(300) << "    promql_expr_test:\n"
                      << test::firing("CtsyncdMultipleActiveNodes", split_at, false)
                      << test::firing("CtsyncdMultipleActiveNodes", split_at + 75, true)
                      << test::firing("CtsyncdMultipleActiveNodes", healed_at + 30, false);
  const std::string out = test::sh_output("promtool test rules " + path + " 2>&1");
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

// Negative control: keepalived alone moves the addresses among the three, no ctsyncd.
TEST(ThreeNodesWithoutCtsyncd, NoSessionSurvivesTheFirstCrash) {
  PairOptions o;
  o.nodes = 3;
  o.snat = true;
  PairTopology t(o);
  for (int n = 1; n <= 3; ++n) t.start_keepalived(n, false);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 15000ms));
  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  t.crash(1);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw2); }, 15000ms));
  EXPECT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), 0u);
}

}  // namespace
}  // namespace ctsync

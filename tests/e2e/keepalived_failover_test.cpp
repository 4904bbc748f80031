// Real keepalived (VRRPv3, 100 ms adverts) drives ctsyncd through the notify script, with the
// readiness track script. Scenario 1: fw1 steps down cleanly, comes back, takes over again.
// Scenario 2: fw1 crashes (frozen, cut off, killed), comes back after a reboot, resyncs and
// the pair fails back. After every failover, every session passes data within 3 s of the
// new node holding the addresses.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;
using test::SessionPool;

struct Run {
  PairTopology& t;
  SessionPool& pool;
};

// Waits until `fw` holds the virtual addresses, then checks every session from that moment.
void expect_sessions_survive(PairTopology& t, SessionPool& pool, const test::Namespace& fw,
                             const char* when) {
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(fw); }, 15000ms))
      << when << ": " << fw.name() << " never took the addresses\n"
      << t.k1.log() << t.k2.log();
  const auto held = test::SteadyClock::now();
  std::size_t reset = 0;
  const auto tcp = pool.tcp_round_trips(held, 3s, false, &reset);
  std::size_t moved = 0;
  const auto udp = pool.udp_server_first(held, 3s, &moved);
  EXPECT_EQ(tcp.passed(), pool.tcp_count()) << when << " (" << reset << " reset)\n"
                                            << t.notify_log(1) << t.notify_log(2);
  EXPECT_EQ(udp.passed(), pool.udp_count()) << when;
  EXPECT_EQ(moved, 0u) << when << ": NAT source ports changed";
  std::printf("[ %s: %s%s ] tcp worst %.3f s, udp worst %.3f s after the addresses moved\n", when,
              t.options().cache_mode.c_str(), t.options().snat ? " + snat" : "", tcp.worst(),
              udp.worst());
}

void bring_up_pair(PairTopology& t, SessionPool& pool) {
  t.start_daemon(1);
  t.start_daemon(2);
  t.start_keepalived(1);
  t.start_keepalived(2);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 10000ms))
      << t.k1.log();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl_output(1, "status").find("active") != std::string::npos; }, 5000ms))
      << t.notify_log(1);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  pool.open_udp(5, "fd10:2::20", 6100);
  const auto tcp = pool.tcp_round_trips(test::SteadyClock::now(), 3s);
  ASSERT_EQ(tcp.passed(), pool.tcp_count());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 5000ms))
      << t.ctl_output(2, "status");
  if (t.options().cache_mode == "direct") {
    const std::size_t flows = pool.tcp_count() + pool.udp_count();
    ASSERT_TRUE(PairTopology::wait_for(
        [&] { return std::stoul(t.fw2.output("conntrack -C")) >= flows; }, 5000ms));
  }
}

class Keepalived : public ::testing::TestWithParam<std::tuple<std::string, bool>> {
 protected:
  PairOptions options() const {
    PairOptions o;
    o.cache_mode = std::get<0>(GetParam());
    o.snat = std::get<1>(GetParam());
    return o;
  }
};

TEST_P(Keepalived, CleanSwitchoverAndBack) {
  PairTopology t(options());
  SessionPool pool(t.client, t.server);
  bring_up_pair(t, pool);

  // fw1 steps down: keepalived stops and sends its priority-0 goodbye.
  ASSERT_NE(t.k1.kill(SIGTERM), -1);
  expect_sessions_survive(t, pool, t.fw2, "switchover to fw2");

  // fw1 returns, resyncs, and takes the addresses back once it is ready.
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(1, "ready") == 0; }, 5000ms))
      << t.ctl_output(1, "status");
  t.start_keepalived(1);
  expect_sessions_survive(t, pool, t.fw1, "failback to fw1");
}

TEST_P(Keepalived, CrashOfTheActiveNodeAndFailback) {
  PairTopology t(options());
  SessionPool pool(t.client, t.server);
  bring_up_pair(t, pool);

  t.crash(1);
  expect_sessions_survive(t, pool, t.fw2, "crash of fw1");

  // fw1 reboots (empty conntrack table) and must fetch fw2's table before it may take over.
  t.reboot(1);
  expect_sessions_survive(t, pool, t.fw1, "failback after the crash");
}

// The CI subset covers both modes and both NAT variants across the two scenarios; the whole
// matrix runs under the `slow` label (see tests/CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Modes, Keepalived,
                         ::testing::Combine(::testing::Values("external", "direct"),
                                            ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) +
                                  (std::get<1>(param_info.param) ? "_snat" : "_routed");
                         });

// A keepalived.conf written for conntrackd (notify_master/backup/fault running
// primary-backup.sh primary|backup|fault) works with ctsyncd's drop-in of that script.
TEST(KeepalivedWithPrimaryBackupSh, ConntrackdStyleNotifyCarriesTheSessionsThroughACrash) {
  PairOptions o;
  o.snat = true;
  o.conntrackd_notify = true;
  PairTopology t(o);
  SessionPool pool(t.client, t.server);
  bring_up_pair(t, pool);
  // The script logs once ctsyncctl returns, which is after the commit let the sessions on.
  const auto promoted = [&](int node) {
    return PairTopology::wait_for(
        [&] {
          return t.notify_log(node).find("master: ctsyncctl promote -> exit 0") !=
                 std::string::npos;
        },
        5000ms);
  };
  EXPECT_TRUE(promoted(1)) << t.notify_log(1);
  t.crash(1);
  expect_sessions_survive(t, pool, t.fw2, "crash of fw1, primary-backup.sh");
  EXPECT_TRUE(promoted(2)) << t.notify_log(2);
}

// conntrackd's script's exit codes: 0 after each known transition (failures are logged),
// 1 for backup when the daemon is not there, 1 and the usage for anything else.
TEST(PrimaryBackupSh, ExitCodesAsConntrackdsScript) {
  const std::string script =
      std::filesystem::path(CTSYNC_NOTIFY_PATH).parent_path().string() + "/primary-backup.sh";
  const std::string none = std::string(" --socket /tmp/ctsync-nowhere-") +
                           std::to_string(::getpid()) + ".sock --ctsyncctl " + CTSYNCCTL_PATH +
                           " --log /dev/null ";
  auto rc = [&](const std::string& args) { return test::sh(script + none + args + " >/dev/null"); };
  EXPECT_EQ(rc("primary"), 0) << "logged, like conntrackd -c failing";
  EXPECT_EQ(rc("fault"), 0);
  EXPECT_EQ(rc("backup"), 1) << "no daemon: conntrackd's script exits 1 when it cannot start it";
  EXPECT_EQ(rc("secondary"), 1);
  EXPECT_NE(
      test::sh_output(script + " 2>&1").find("Usage: primary-backup.sh {primary|backup|fault}"),
      std::string::npos);
}

// Negative control: keepalived alone moves the addresses, but no ctsyncd carries the state.
TEST(KeepalivedWithoutCtsyncd, NoSessionSurvivesTheCrash) {
  PairOptions o;
  o.snat = true;
  PairTopology t(o);
  t.start_keepalived(1, false);
  t.start_keepalived(2, false);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 10000ms));
  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  const auto invalid_before = t.counter_value(t.fw2, "invalid_drops");
  t.k1.signal(SIGSTOP);
  t.fw1.must("ip link set lan down && ip link set wan down");
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw2); }, 10000ms));
  const auto held = test::SteadyClock::now();
  EXPECT_EQ(pool.tcp_round_trips(held, 3s).passed(), 0u);
  EXPECT_EQ(pool.udp_server_first(held, 3s).passed(), 0u);
  EXPECT_GT(t.counter_value(t.fw2, "invalid_drops"), invalid_before);
  t.k1.kill(SIGKILL);
}

}  // namespace
}  // namespace ctsync

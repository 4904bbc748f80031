// A firewall pair carrying live IPv4 and IPv6 sessions fails over by moving its virtual
// addresses and calling ctsyncctl promote/demote. With ctsyncd every session must pass data
// both ways within 3 s of the addresses moving; without it (the negative control) none may.
#include <gtest/gtest.h>

#include <thread>

#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;
using test::SessionPool;

struct Outcome {
  test::CheckReport tcp, udp;
  std::size_t udp_moved = 0;
  std::uint64_t fw1_forwarded_after = 0;
  std::uint64_t fw2_invalid_drops = 0;
};

void open_sessions(PairTopology& t, SessionPool& pool) {
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  pool.open_udp(5, "fd10:2::20", 6100);
  const auto now = test::SteadyClock::now();
  const auto tcp = pool.tcp_round_trips(now, 3s);
  const auto udp = pool.udp_server_first(test::SteadyClock::now(), 3s);
  ASSERT_EQ(tcp.passed(), pool.tcp_count()) << "before the failover every TCP session works";
  ASSERT_EQ(udp.passed(), pool.udp_count()) << "before the failover every UDP flow works";
  (void)t;
}

Outcome fail_over(PairTopology& t, SessionPool& pool, bool with_daemons) {
  Outcome o;
  const auto fw2_invalid_before = t.counter_value(t.fw2, "invalid_drops");
  const auto moved_at = test::SteadyClock::now();
  t.move_virtual_addresses(t.fw1, t.fw2);
  std::thread roles;
  if (with_daemons) {
    roles = std::thread([&t] {
      t.ctl(2, "promote");
      t.ctl(1, "demote");
    });
  }
  const auto fw1_forwarded_before = t.counter_value(t.fw1, "forwarded");
  o.tcp = pool.tcp_round_trips(moved_at, 3s);
  o.udp = pool.udp_server_first(moved_at, 3s, &o.udp_moved);
  if (roles.joinable()) roles.join();
  o.fw1_forwarded_after = t.counter_value(t.fw1, "forwarded") - fw1_forwarded_before;
  o.fw2_invalid_drops = t.counter_value(t.fw2, "invalid_drops") - fw2_invalid_before;
  return o;
}

class Failover : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(Failover, EverySessionSurvivesAManualFailover) {
  PairOptions opts;
  opts.cache_mode = std::get<0>(GetParam());
  opts.snat = std::get<1>(GetParam());
  PairTopology t(opts);
  t.add_virtual_addresses(t.fw1);
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);

  SessionPool pool(t.client, t.server);
  open_sessions(t, pool);
  const std::size_t flows = pool.tcp_count() + pool.udp_count();
  // The backup holds every session (in memory, or in its kernel in direct mode) and says so.
  ASSERT_TRUE(PairTopology::wait_for(
      [&] {
        const std::string out = t.ctl_output(2, "flows --external");
        return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) >= flows &&
               t.ctl(2, "ready") == 0;
      },
      5000ms))
      << t.ctl_output(2, "status");
  if (opts.cache_mode == "direct") {
    ASSERT_TRUE(PairTopology::wait_for(
        [&] { return std::stoul(t.fw2.output("conntrack -C")) >= flows; }, 5000ms));
  }

  const Outcome o = fail_over(t, pool, true);
  EXPECT_EQ(o.tcp.passed(), pool.tcp_count()) << t.ctl_output(2, "status") << t.d2.log();
  EXPECT_EQ(o.udp.passed(), pool.udp_count());
  EXPECT_LE(o.tcp.worst(), 3.0);
  EXPECT_LE(o.udp.worst(), 3.0);
  EXPECT_EQ(o.udp_moved, 0u) << "NAT source ports must survive the failover";
  EXPECT_EQ(o.fw1_forwarded_after, 0u) << "fw1 still forwarded: the test would prove nothing";
  std::printf("[ %s%s ] sessions recovered: tcp worst %.3f s, udp worst %.3f s\n",
              opts.cache_mode.c_str(), opts.snat ? " + snat" : "", o.tcp.worst(), o.udp.worst());
}

INSTANTIATE_TEST_SUITE_P(
    Modes, Failover, ::testing::Combine(::testing::Values("external", "direct"), ::testing::Bool()),
    [](const auto& param_info) {
      return std::get<0>(param_info.param) + (std::get<1>(param_info.param) ? "_snat" : "_routed");
    });

// Negative control: the same pair and sessions without ctsyncd. Every session works before,
// none after, and fw2 drops the orphaned packets as invalid.
class WithoutCtsyncd : public ::testing::TestWithParam<bool> {};

TEST_P(WithoutCtsyncd, NoSessionSurvives) {
  PairOptions opts;
  opts.snat = GetParam();
  PairTopology t(opts);
  t.add_virtual_addresses(t.fw1);
  SessionPool pool(t.client, t.server);
  open_sessions(t, pool);
  const Outcome o = fail_over(t, pool, false);
  EXPECT_EQ(o.tcp.passed(), 0u);
  EXPECT_EQ(o.udp.passed(), 0u);
  EXPECT_GT(o.fw2_invalid_drops, 0u);
  EXPECT_EQ(o.fw1_forwarded_after, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, WithoutCtsyncd, ::testing::Bool(), [](const auto& param_info) {
  return param_info.param ? std::string("snat") : std::string("routed");
});

}  // namespace
}  // namespace ctsync

namespace ctsync {
namespace {

// The takeover race: the new active node holds the addresses before its commit ends. With
// SNAT to the virtual address, a server packet in that window has no conntrack entry, is
// delivered to the firewall's own TCP stack, and the reset it provokes kills the session.
// The commit is delayed on purpose so the window is wide and the outcome certain.
struct RaceResult {
  std::size_t passed = 0, reset = 0, total = 0;
  double worst = 0;
};

RaceResult run_race(PairOptions opts) {
  opts.snat = true;
  opts.commit_delay_ms = 1500;
  PairTopology t(opts);
  t.add_virtual_addresses(t.fw1);
  t.start_daemon(1);
  t.start_daemon(2);
  EXPECT_EQ(t.ctl(1, "promote"), 0);
  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  EXPECT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  EXPECT_TRUE(PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 5000ms));
  if (opts.cache_mode == "direct") {
    EXPECT_TRUE(PairTopology::wait_for(
        [&] { return std::stoul(t.fw2.output("conntrack -C")) >= pool.tcp_count(); }, 5000ms));
  }
  const auto moved_at = test::SteadyClock::now();
  t.move_virtual_addresses(t.fw1, t.fw2);
  std::thread roles([&t] {
    t.ctl(2, "promote");
    t.ctl(1, "demote");
  });
  RaceResult r;
  // The server speaks first, into the window; TCP retransmits until the entries exist.
  const auto rep = pool.tcp_round_trips(moved_at, 8s, true, &r.reset);
  roles.join();
  r.passed = rep.passed();
  r.total = pool.tcp_count();
  r.worst = rep.worst();
  return r;
}

TEST(TakeoverRace, WithoutInvalidDropOnInputTheFirewallResetsSessions) {
  PairOptions o;
  o.input_invalid_drop = false;
  const RaceResult r = run_race(o);
  EXPECT_GT(r.reset, 0u) << "the race must show: sessions reset by the new active node";
  EXPECT_LT(r.passed, r.total);
}

TEST(TakeoverRace, InvalidDropOnInputClosesTheRace) {
  PairOptions o;
  o.input_invalid_drop = true;
  const RaceResult r = run_race(o);
  EXPECT_EQ(r.reset, 0u);
  EXPECT_EQ(r.passed, r.total) << "sessions wait out the commit (TCP retransmits)";
  std::printf("[ race, invalid drop ] all sessions back after %.3f s (commit delayed 1.5 s)\n",
              r.worst);
}

TEST(TakeoverRace, DirectModeHasNoWindow) {
  PairOptions o;
  o.cache_mode = "direct";
  o.input_invalid_drop = false;  // not even needed: the entries are already in the kernel
  const RaceResult r = run_race(o);
  EXPECT_EQ(r.reset, 0u);
  EXPECT_EQ(r.passed, r.total);
  EXPECT_LT(r.worst, 1.0) << "no wait for the delayed commit";
  std::printf("[ race, direct mode ] all sessions back after %.3f s\n", r.worst);
}

}  // namespace
}  // namespace ctsync

// The decisions moved out of the daemon into the core: commit order, purge, reload, refresh.
#include <gtest/gtest.h>

#include "core/commit_plan.hpp"
#include "core/refresh_schedule.hpp"
#include "core/reload_plan.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

TEST(PurgePlan, OnlyKnownEntriesFromBeforeSteppingDownWithALongerTimeout) {
  const PurgePlan plan{30, 5};
  Flow f = test::addressed_flow("10.0.0.1", "10.0.0.2");
  f.timeout = 3600;
  const LocalMeta before{0, 4, 0};
  const LocalMeta after{0, 5, 0};
  const auto w = purge_write(plan, f, &before);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->timeout, 30u);
  EXPECT_FALSE(purge_write(plan, f, &after)) << "first seen after stepping down";
  EXPECT_FALSE(purge_write(plan, f, nullptr)) << "not in the internal cache (filtered)";
  f.timeout = 20;
  EXPECT_FALSE(purge_write(plan, f, &before)) << "already shorter";
}

TEST(ReloadPlan, NothingChangedNothingApplied) {
  Config c;
  const auto plan = plan_reload(c, c);
  EXPECT_TRUE(plan.applied.empty());
  EXPECT_TRUE(plan.need_restart.empty());
}

struct FieldCase {
  const char* name;
  void (*change)(Config&);
};

class ReloadableField : public ::testing::TestWithParam<FieldCase> {};
TEST_P(ReloadableField, IsAppliedAndNamed) {
  Config running, fresh;
  GetParam().change(fresh);
  const auto plan = plan_reload(running, fresh);
  ASSERT_EQ(plan.applied, std::vector<std::string>{GetParam().name});
  EXPECT_TRUE(plan.need_restart.empty());
  Config expected = running;
  GetParam().change(expected);
  expected.lines = plan.next.lines;
  EXPECT_TRUE(plan_reload(expected, plan.next).applied.empty()) << "the new value is in next";
}
INSTANTIATE_TEST_SUITE_P(
    Fields, ReloadableField,
    ::testing::Values(
        FieldCase{"node.log_level", [](Config& c) { c.log_level = LogLevel::debug; }},
        FieldCase{"sync.keys",
                  [](Config& c) {
                    c.keys.push_back({2, "/etc/ctsyncd/next.key"});
                  }},
        FieldCase{"sync.send_key_id", [](Config& c) { c.send_key_id = 2; }},
        FieldCase{"cache.commit_batch", [](Config& c) { c.commit_batch = 10; }},
        FieldCase{"cache.purge_after_s", [](Config& c) { c.purge_after = seconds(5); }},
        FieldCase{"cache.purge_timeout_s", [](Config& c) { c.purge_timeout = 5; }},
        FieldCase{"filter", [](Config& c) { c.filter.ignore_zones.push_back(3); }},
        FieldCase{"takeover.hold_max_ms", [](Config& c) { c.hold_max = milliseconds(9); }},
        FieldCase{"takeover.hold_max_packets", [](Config& c) { c.hold_max_packets = 9; }},
        FieldCase{"takeover.early_write_life_s",
                  [](Config& c) { c.early_write_life = seconds(9); }}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (char& ch : n)
        if (ch == '.') ch = '_';
      return n;
    });

class RestartField : public ::testing::TestWithParam<FieldCase> {};
TEST_P(RestartField, IsReportedAndKeptAtItsRunningValue) {
  Config running, fresh;
  GetParam().change(fresh);
  const auto plan = plan_reload(running, fresh);
  EXPECT_TRUE(plan.applied.empty());
  ASSERT_EQ(plan.need_restart, std::vector<std::string>{GetParam().name});
  EXPECT_TRUE(plan_reload(running, plan.next).need_restart.empty()) << "next kept the old value";
}
INSTANTIATE_TEST_SUITE_P(
    Fields, RestartField,
    ::testing::Values(
        FieldCase{"node.id", [](Config& c) { c.node_id = 9; }},
        FieldCase{"node.state_dir", [](Config& c) { c.state_dir = "/tmp/x"; }},
        FieldCase{"sync.interface", [](Config& c) { c.interface = "eth9"; }},
        FieldCase{"sync.multicast_group",
                  [](Config& c) { c.multicast_group = parse_any_address("239.1.1.1"); }},
        FieldCase{"sync.port", [](Config& c) { c.port = 1; }},
        FieldCase{"sync.peers",
                  [](Config& c) {
                    c.peers.push_back({*parse_any_address("10.0.0.2"), 3780});
                  }},
        FieldCase{"sync.bind", [](Config& c) { c.bind = parse_any_address("10.0.0.1"); }},
        FieldCase{"sync.mtu", [](Config& c) { c.mtu = 9000; }},
        FieldCase{"sync.receive_buffer", [](Config& c) { c.socket_receive_buffer = 1; }},
        FieldCase{"sync.send_buffer", [](Config& c) { c.socket_send_buffer = 1; }},
        FieldCase{"sync.heartbeat_interval_ms",
                  [](Config& c) { c.heartbeat_interval = milliseconds(7); }},
        FieldCase{"sync.peer_timeout_ms", [](Config& c) { c.peer_timeout = milliseconds(7); }},
        FieldCase{"sync.window_packets", [](Config& c) { c.window_packets = 7; }},
        FieldCase{"sync.expectations", [](Config& c) { c.sync_expectations = false; }},
        FieldCase{"sync.max_peer_flows", [](Config& c) { c.max_peer_flows = 7; }},
        FieldCase{"sync.max_peer_expectations", [](Config& c) { c.max_peer_expectations = 7; }},
        FieldCase{"sync.max_early_bytes", [](Config& c) { c.max_early_bytes = 7; }},
        FieldCase{"sync.legacy_sealing", [](Config& c) { c.legacy_sealing = false; }},
        FieldCase{"sync.ready_max_lag_ms", [](Config& c) { c.ready_max_lag = seconds(9); }},
        FieldCase{"cache.mode", [](Config& c) { c.cache_mode = CacheMode::direct; }},
        FieldCase{"cache.direct_refresh_s", [](Config& c) { c.direct_refresh = seconds(1); }},
        FieldCase{"cache.commit_delay_ms", [](Config& c) { c.commit_delay = seconds(1); }},
        FieldCase{"takeover.queue", [](Config& c) { c.takeover_queue = 3; }},
        FieldCase{"takeover.queue_length", [](Config& c) { c.takeover_queue_length = 9; }},
        FieldCase{"kernel.netlink_buffer", [](Config& c) { c.netlink_buffer = 1; }},
        FieldCase{"kernel.netlink_buffer_max", [](Config& c) { c.netlink_buffer_max = 1; }},
        FieldCase{"kernel.tcp_window_tracking", [](Config& c) { c.tcp_window_tracking = true; }},
        FieldCase{"kernel.accounting_interval_s",
                  [](Config& c) { c.accounting_interval = seconds(1); }},
        FieldCase{"metrics.listen", [](Config& c) { c.metrics_listen = ""; }},
        FieldCase{"control.socket", [](Config& c) { c.control_socket = "/tmp/s"; }}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (char& ch : n)
        if (ch == '.') ch = '_';
      return n;
    });

TEST(RefreshSchedule, ShortTimeoutsAreDueBeforeHalfHasPassedEvenATickLate) {
  const TimePoint t0{seconds(100)};
  RefreshSchedule<int> s(seconds(10), t0);
  EXPECT_TRUE(s.plan(1, 30, t0));       // (30 - 10) / 2 = 10 s
  EXPECT_TRUE(s.plan(2, 5, t0));        // never less than a second
  EXPECT_FALSE(s.plan(3, 432000, t0));  // the active node's events refresh it in time
  EXPECT_EQ(s.due_second(1), 10);
  EXPECT_EQ(s.due_second(2), 1);
  std::vector<int> due;
  s.take_due(t0 + seconds(9), due);
  EXPECT_EQ(due, std::vector<int>{2});
  due.clear();
  s.take_due(t0 + seconds(10), due);
  EXPECT_EQ(due, std::vector<int>{1});
  EXPECT_EQ(s.size(), 0u);
}

}  // namespace
}  // namespace ctsync

// What `ctsyncctl status` says about the takeover hold and the last takeover, in text (for
// the operator) and JSON (for scripts).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/status_render.hpp"

namespace ctsync {
namespace {

StatusView with_a_takeover() {
  StatusView v;
  v.cache_mode = "external";
  StatusView::Hold h;
  h.queue = "nfqueue 7";
  h.listening = true;
  h.counters.held = 3;
  h.counters.released = 3;
  h.counters.flows_written = 2;
  h.counters.longest_hold = milliseconds(2);
  v.hold = h;
  TakeoverRecord r;
  r.promoted_at_ms = 1'800'000'000'000;
  r.first_held_s = -0.95;
  r.commit_start_s = 0.001;
  r.commit_end_s = 0.7;
  r.flows_on_demand = 2;
  r.flows_committed = 199998;
  v.takeovers = {r};
  return v;
}

TEST(StatusRender, TheHoldAndTheLastTakeoverInOneLineEach) {
  const std::string s = render_status(with_a_takeover(), false);
  EXPECT_NE(s.find("takeover hold: nfqueue 7, listening; packets held 3, released 3, released "
                   "unwritten 0, overflow 0"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("flows written on demand 2; longest hold 2.0 ms"), std::string::npos) << s;
  EXPECT_NE(s.find("last takeover (2027-01-15 08:00:00 UTC): promoted, first held packet at "
                   "-0.950 s, commit 0.001 s to 0.700 s, 2 flows on demand, 199998 committed"),
            std::string::npos)
      << s;
}

// Three nodes, as fw3 sees them after fw1 crashed and fw2 took over: each peer with its role
// and what this node holds of it.
TEST(StatusRender, EveryPeerWithItsRoleAndTheStateOfItsCopy) {
  StatusView v;
  v.peers = {{1, false, Role::active, 4.2, false, false, 0, 0, 0},
             {2, true, Role::active, 0.1, true, true, 0, 40, 0},
             {4, true, Role::backup, 0.1, false, false, 0, 0, 0},
             {5, false, Role::backup, 9.0, true, false, 0, 12, 0}};
  const std::string s = render_status(v, false);
  EXPECT_NE(s.find("peer 1: DOWN, active, heard 4.2 s ago, no copy held"), std::string::npos) << s;
  EXPECT_NE(s.find("peer 2: up, active, heard 0.1 s ago, in sync"), std::string::npos) << s;
  EXPECT_NE(s.find("peer 4: up, backup, heard 0.1 s ago, no copy held"), std::string::npos) << s;
  EXPECT_NE(s.find("peer 5: DOWN, backup, heard 9.0 s ago, copy of its time as active"),
            std::string::npos)
      << s;
}

TEST(StatusRender, JsonCarriesEveryCountAndEveryKeptTakeover) {
  const auto j = nlohmann::json::parse(render_status(with_a_takeover(), true));
  EXPECT_EQ(j["takeover_hold"]["queue"], "nfqueue 7");
  EXPECT_EQ(j["takeover_hold"]["packets_held"], 3);
  EXPECT_EQ(j["takeover_hold"]["packets_overflow"], 0);
  ASSERT_EQ(j["takeovers"].size(), 1u);
  EXPECT_EQ(j["takeovers"][0]["flows_on_demand"], 2);
  EXPECT_DOUBLE_EQ(j["takeovers"][0]["first_held_s"].get<double>(), -0.95);
  StatusView none;
  const auto k = nlohmann::json::parse(render_status(none, true));
  EXPECT_FALSE(k.contains("takeover_hold")) << "no queue configured: no hold section";
  EXPECT_TRUE(k["takeovers"].empty());
}

}  // namespace
}  // namespace ctsync

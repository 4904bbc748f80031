// A pair run from conntrackd's FTFW example as `ctsyncctl import-conntrackd` translates it,
// with only the documented site-specific parts filled in (node id, sync interface, key file;
// docs/migrating-from-conntrackd.md): the translation passes --check-config --strict, and
// every TCP session survives a failover. The example's `Protocol Accept { TCP SCTP DCCP }`
// is in force: the UDP flows open at the same time are not replicated (the control).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;
using test::SessionPool;

const std::string examples = "/usr/share/doc/conntrackd/examples/sync/";
const std::string ftfw = examples + "ftfw/conntrackd.conf";

void replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "'" << from << "' not in the translation:\n" << text;
  text.replace(at, from.size(), to);
}

// The translation of `example`, filled in by the documented rules, as node `node`'s
// configuration.
std::string imported_config(const PairTopology& t, int node, const std::string& example = ftfw) {
  std::string toml = test::sh_output(std::string(CTSYNCCTL_PATH) + " import-conntrackd " + example);
  replace(toml, "id = 1  # FILL IN",
          "id = " + std::to_string(node) + "\nstate_dir = \"" + t.dir + "/state" +
              std::to_string(node) + "\"  #");
  replace(toml, "interface = \"eth2\"", "interface = \"sync\"");
  replace(toml, "file = \"/etc/ctsyncd/sync.key\"", "file = \"" + t.dir + "/sync.key\"");
  toml += "[metrics]\nlisten = \"\"\n[control]\nsocket = \"" + t.socket_path(node) + "\"\n";
  const std::string path = t.dir + "/imported" + std::to_string(node) + "-" +
                           std::filesystem::path(example).parent_path().filename().string() +
                           ".toml";
  std::ofstream(path) << toml;
  return path;
}

TEST(ImportedConntrackdConfig, FtfwExampleRunsAPairThatKeepsItsSessions) {
  if (!std::filesystem::exists(ftfw)) GTEST_SKIP() << ftfw << " missing (package conntrackd)";
  PairOptions opts;
  opts.snat = true;
  PairTopology t(opts);
  t.add_virtual_addresses(t.fw1);
  for (int node : {1, 2}) {
    const std::string path = imported_config(t, node);
    const auto& ns = node == 1 ? t.fw1 : t.fw2;
    const std::string check = test::sh_output(ns.exec(
        std::string(CTSYNCD_PATH) + " --check-config --strict -c " + path + " 2>&1; echo exit=$?"));
    ASSERT_NE(check.find("exit=0"), std::string::npos) << check;
    t.start_daemon_with(node, path);
  }
  ASSERT_EQ(t.ctl(1, "promote"), 0);

  SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  pool.open_udp(5, "10.10.2.20", 6000);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  ASSERT_TRUE(PairTopology::wait_for(
      [&] {
        const auto copy = nlohmann::json::parse(t.ctl_output(2, "flows --external --json"));
        return copy.size() >= pool.tcp_count() && t.ctl(2, "ready") == 0;
      },
      5000ms))
      << t.ctl_output(2, "status");
  for (const auto& f : nlohmann::json::parse(t.ctl_output(2, "flows --external --json"))) {
    EXPECT_NE(f["protocol"], "udp") << "Protocol Accept { TCP SCTP DCCP } lets no UDP through";
  }

  const auto moved_at = test::SteadyClock::now();
  t.move_virtual_addresses(t.fw1, t.fw2);
  std::thread roles([&t] {
    t.ctl(2, "promote");
    t.ctl(1, "demote");
  });
  const auto tcp = pool.tcp_round_trips(moved_at, 3s);
  roles.join();
  EXPECT_EQ(tcp.passed(), pool.tcp_count()) << t.ctl_output(2, "status") << t.d2.log();
}

}  // namespace
}  // namespace ctsync

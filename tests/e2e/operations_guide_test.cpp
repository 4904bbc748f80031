// docs/operations.md cannot drift: every block marked `file=NODE:PATH` in it is extracted, the
// pair is configured from those files alone (paths moved under a per-node directory, since
// both nodes share this machine's filesystem), and a failover must keep the sessions alive.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;

struct Snippet {
  std::string who;   // fw1, fw2 or all
  std::string path;  // where the guide puts it
  std::string text;
};

std::vector<Snippet> snippets_of_the_guide() {
  std::ifstream in(std::string(CTSYNC_SOURCE_DIR) + "/docs/operations.md");
  std::vector<Snippet> out;
  std::string line;
  const std::regex open("^```[a-z]* file=([a-z0-9]+):(\\S+)$");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, open)) continue;
    Snippet s{m[1], m[2], ""};
    while (std::getline(in, line) && line != "```") s.text += line + "\n";
    out.push_back(s);
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

// The guide's files of one node, written under the test directory; the nftables ruleset and
// the sysctls applied at once. In `cluster` mode keepalived's file is the three-node section's.
struct NodeFiles {
  std::string ctsyncd_conf, keepalived_conf, hold_rule;
};

NodeFiles configure_from_the_guide(PairTopology& t, int node, const std::vector<Snippet>& snippets,
                                   bool cluster) {
  NodeFiles files;
  const std::string who = "fw" + std::to_string(node);
  const std::string root = t.dir + "/" + who;
  const test::Namespace& ns = t.fw(node);
  // The files of this node, with its paths moved under `root` and the installed programs
  // replaced by the ones just built.
  auto localise = [&](std::string text) {
    text = replace_all(text, "/etc/ctsyncd/", root + "/etc/ctsyncd/");
    text = replace_all(text, "/run/ctsyncd/", root + "/run/ctsyncd/");
    text = replace_all(text, "/usr/lib/ctsyncd/ctsyncd-notify", CTSYNC_NOTIFY_PATH);
    text = replace_all(text, "/usr/bin/ctsyncctl", CTSYNCCTL_PATH);
    return text;
  };
  for (const auto& s : snippets) {
    const bool keepalived = s.path == "/etc/keepalived/keepalived.conf";
    const bool mine = keepalived ? s.who == (cluster ? "cluster" : who) : s.who == who;
    if (!mine && s.who != "all") continue;
    const std::string path = root + s.path;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << localise(s.text);
    if (s.path == "/etc/ctsyncd/ctsyncd.toml") files.ctsyncd_conf = path;
    if (keepalived) files.keepalived_conf = path;
    if (s.path.find("/etc/sysctl.d/") == 0) ns.must("sysctl -q -p " + path);
    if (s.path == "/etc/nftables.conf") ns.must("nft -f " + path);
    if (s.path == "/etc/ctsyncd/takeover-hold.sh") files.hold_rule = path;
  }
  if (files.ctsyncd_conf.empty() || files.keepalived_conf.empty()) return files;
  // What the guide leaves at its defaults must not collide between the nodes here: the state
  // directory, the control socket, and the metrics port's address.
  std::string conf;
  {
    std::ifstream in(files.ctsyncd_conf);
    std::stringstream ss;
    ss << in.rdbuf();
    conf = ss.str();
  }
  conf = replace_all(conf, "[node]\n", "[node]\nstate_dir = \"" + root + "/var/lib/ctsyncd\"\n");
  conf += "\n[control]\nsocket = \"" + root + "/run/ctsyncd/ctsyncd.sock\"\n";
  std::ofstream(files.ctsyncd_conf) << conf;
  t.socket_override[node] = root + "/run/ctsyncd/ctsyncd.sock";
  return files;
}

TEST(OperationsGuide, APairBuiltFromTheGuideAloneKeepsItsSessionsAcrossAFailover) {
  const auto snippets = snippets_of_the_guide();
  ASSERT_GE(snippets.size(), 6u) << "the guide lost its file blocks";
  PairOptions o;
  o.bare = true;
  PairTopology t(o);

  std::map<int, std::string> ctsyncd_conf, keepalived_conf;
  // Loaded after the nftables ruleset, as the guide says: its `flush ruleset` would remove it.
  std::vector<std::pair<const test::Namespace*, std::string>> hold_rules;
  for (int node : {1, 2}) {
    const NodeFiles files = configure_from_the_guide(t, node, snippets, false);
    ASSERT_FALSE(files.ctsyncd_conf.empty() || files.keepalived_conf.empty()) << "fw" << node;
    ctsyncd_conf[node] = files.ctsyncd_conf;
    keepalived_conf[node] = files.keepalived_conf;
    if (!files.hold_rule.empty()) hold_rules.emplace_back(&t.fw(node), files.hold_rule);
  }
  ASSERT_EQ(hold_rules.size(), 2u) << "the guide lost its takeover hold rule";
  for (const auto& [ns, path] : hold_rules) ns->must("sh " + path);
  // The key, made as the guide says, and the same on both nodes.
  std::filesystem::create_directories(t.dir + "/fw1/etc/ctsyncd");
  ASSERT_EQ(
      test::sh(std::string(CTSYNCCTL_PATH) + " keygen " + t.dir + "/fw1/etc/ctsyncd/sync.key"), 0);
  std::filesystem::create_directories(t.dir + "/fw2/etc/ctsyncd");
  std::filesystem::copy_file(t.dir + "/fw1/etc/ctsyncd/sync.key",
                             t.dir + "/fw2/etc/ctsyncd/sync.key");
  for (int node : {1, 2}) {
    std::filesystem::create_directories(t.dir + "/fw" + std::to_string(node) +
                                        "/run");  // /run exists on a real node
    const std::string check =
        test::sh_output((node == 1 ? t.fw1 : t.fw2)
                            .exec(std::string(CTSYNCD_PATH) + " --check-config --strict -c " +
                                  ctsyncd_conf[node] + " 2>&1"));
    ASSERT_NE(check.find("configuration OK"), std::string::npos)
        << "the guide's configuration must pass --strict:\n"
        << check;
    t.start_daemon_with(node, ctsyncd_conf[node]);
  }
  t.start_keepalived_with(1, keepalived_conf[1]);
  t.start_keepalived_with(2, keepalived_conf[2]);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 10000ms))
      << t.k1.log();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl_output(1, "status").find("active") != std::string::npos; }, 5000ms))
      << t.ctl_output(1, "status") << t.k1.log().substr(0, 3000);

  test::SessionPool pool(t.client, t.server);
  pool.open_tcp(10, "10.10.2.20", 5001);
  pool.open_tcp(10, "fd10:2::20", 5002);
  pool.open_udp(3, "10.10.2.20", 6000);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 5000ms));
  EXPECT_NE(t.ctl_output(2, "status").find("takeover hold: nfqueue 7, listening"),
            std::string::npos)
      << t.ctl_output(2, "status");
  // The guide's rule feeds the backup's queue: a ping to fw2's own LAN address goes through
  // the daemon (a flow nobody syncs: passed on at once).
  t.client.must("ping -c 2 -i 0.2 -W 2 10.10.1.3 >/dev/null");
  const std::string queue_status = t.ctl_output(2, "status --json");
  std::smatch passed;
  ASSERT_TRUE(std::regex_search(queue_status, passed, std::regex("\"packets_passed\": ([0-9]+)")))
      << queue_status;
  EXPECT_GE(std::stoul(passed[1]), 2u) << "the guide's rule queues nothing\n" << queue_status;
  const auto invalid_before = t.counter_value(t.fw2, "invalid_drops");

  ASSERT_NE(t.k1.kill(SIGTERM), -1);  // fw1 hands over, as in "Upgrading one node at a time"
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw2); }, 10000ms));
  const auto held = test::SteadyClock::now();
  EXPECT_EQ(pool.tcp_round_trips(held, 3s).passed(), pool.tcp_count());
  EXPECT_EQ(pool.udp_server_first(held, 3s).passed(), pool.udp_count());
  EXPECT_EQ(t.counter_value(t.fw2, "invalid_drops"), invalid_before)
      << "with the guide's takeover hold, the new active node drops nothing as invalid";
}

// The three-node section: fw1 and fw2 as in the pair, fw3 from its own file, one keepalived
// file for all three (each node started with its config id). fw1 crashes, then fw2: fw3
// carries every session.
TEST(OperationsGuide, AThreeNodeClusterBuiltFromTheGuideSurvivesTwoCrashes) {
  const auto snippets = snippets_of_the_guide();
  PairOptions o;
  o.bare = true;
  o.nodes = 3;
  PairTopology t(o);
  std::map<int, NodeFiles> files;
  for (int node = 1; node <= 3; ++node) {
    files[node] = configure_from_the_guide(t, node, snippets, true);
    ASSERT_FALSE(files[node].ctsyncd_conf.empty() || files[node].keepalived_conf.empty())
        << "the guide has no three-node file for fw" << node;
    ASSERT_FALSE(files[node].hold_rule.empty());
  }
  for (int node = 1; node <= 3; ++node) t.fw(node).must("sh " + files[node].hold_rule);
  const std::string key = t.dir + "/fw1/etc/ctsyncd/sync.key";
  ASSERT_EQ(test::sh(std::string(CTSYNCCTL_PATH) + " keygen " + key), 0);
  for (int node = 2; node <= 3; ++node) {
    std::filesystem::copy_file(key, t.dir + "/fw" + std::to_string(node) + "/etc/ctsyncd/sync.key");
  }
  for (int node = 1; node <= 3; ++node) {
    std::filesystem::create_directories(t.dir + "/fw" + std::to_string(node) + "/run");
    t.start_daemon_with(node, files[node].ctsyncd_conf);
  }
  for (int node = 1; node <= 3; ++node) {
    t.start_keepalived_with(node, files[node].keepalived_conf, "fw" + std::to_string(node));
  }
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(t.fw1); }, 15000ms))
      << t.k1.log();
  test::SessionPool pool(t.client, t.server);
  pool.open_tcp(10, "10.10.2.20", 5001);
  pool.open_tcp(10, "fd10:2::20", 5002);
  ASSERT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count());
  for (int node = 2; node <= 3; ++node) {
    ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(node, "ready") == 0; }, 10000ms))
        << t.ctl_output(node, "status");
  }
  for (int node = 1; node <= 2; ++node) {
    t.crash(node);
    const test::Namespace& next = t.fw(node + 1);
    ASSERT_TRUE(PairTopology::wait_for([&] { return t.holds_virtual_addresses(next); }, 15000ms))
        << "the priorities hand over to fw" << node + 1 << "\n"
        << t.keepalived(node + 1).log();
    EXPECT_EQ(pool.tcp_round_trips(test::SteadyClock::now(), 3s).passed(), pool.tcp_count())
        << "after the crash of fw" << node;
    if (node == 1) {
      ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(3, "ready") == 0; }, 10000ms))
          << t.ctl_output(3, "status");
    }
  }
}

}  // namespace
}  // namespace ctsync

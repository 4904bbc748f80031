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
    const std::string who = "fw" + std::to_string(node);
    const std::string root = t.dir + "/" + who;
    const test::Namespace& ns = node == 1 ? t.fw1 : t.fw2;
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
      if (s.who != who && s.who != "all") continue;
      const std::string path = root + s.path;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      std::ofstream(path) << localise(s.text);
      if (s.path == "/etc/ctsyncd/ctsyncd.toml") ctsyncd_conf[node] = path;
      if (s.path == "/etc/keepalived/keepalived.conf") keepalived_conf[node] = path;
      if (s.path.find("/etc/sysctl.d/") == 0) ns.must("sysctl -q -p " + path);
      if (s.path == "/etc/nftables.conf") ns.must("nft -f " + path);
      if (s.path == "/etc/ctsyncd/takeover-hold.sh") hold_rules.emplace_back(&ns, path);
    }
    ASSERT_TRUE(ctsyncd_conf.count(node) && keepalived_conf.count(node)) << who;
    // What the guide leaves at its defaults must not collide between the two nodes here:
    // the state directory, the control socket, and the metrics port's address.
    std::string conf;
    {
      std::ifstream in(ctsyncd_conf[node]);
      std::stringstream ss;
      ss << in.rdbuf();
      conf = ss.str();
    }
    conf = replace_all(conf, "[node]\n", "[node]\nstate_dir = \"" + root + "/var/lib/ctsyncd\"\n");
    conf += "\n[control]\nsocket = \"" + root + "/run/ctsyncd/ctsyncd.sock\"\n";
    std::ofstream(ctsyncd_conf[node]) << conf;
    t.socket_override[node] = root + "/run/ctsyncd/ctsyncd.sock";
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

}  // namespace
}  // namespace ctsync

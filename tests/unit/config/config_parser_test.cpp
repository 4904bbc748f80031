#include <gtest/gtest.h>

#include "config/config_parser.hpp"

namespace ctsync {
namespace {

const char* kMinimal = R"(
[node]
id = 7
[sync]
interface = "sync0"
multicast_group = "239.255.12.1"
[[sync.keys]]
id = 1
file = "/etc/ctsyncd/sync.key"
)";

TEST(ConfigParser, MinimalFileGetsTheDocumentedDefaults) {
  auto c = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->node_id, 7u);
  EXPECT_EQ(c->port, 3780);
  EXPECT_EQ(c->cache_mode, CacheMode::external);
  EXPECT_EQ(c->send_key_id, 1);
  EXPECT_EQ(c->control_socket, "/run/ctsyncd/ctsyncd.sock");
  EXPECT_EQ(c->metrics_listen, "127.0.0.1:9712");
  EXPECT_TRUE(c->filter.ignore_loopback);
}

TEST(ConfigParser, EveryOptionOfTheExampleParses) {
  auto c = load_config(std::string(CTSYNC_SOURCE_DIR) + "/conf/ctsyncd.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
}

TEST(ConfigParser, TheTakeoverHoldIsOffUnlessAQueueIsNamed) {
  auto off = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->takeover_queue.has_value());
  auto on = parse_config(
      std::string(kMinimal) + "[takeover]\nqueue = 7\nhold_max_ms = 250\nearly_write_life_s = 9\n",
      "t.toml");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on->takeover_queue, 7);
  EXPECT_EQ(on->hold_max, milliseconds(250));
  EXPECT_EQ(on->early_write_life, seconds(9));
  auto bad = parse_config(std::string(kMinimal) + "[takeover]\nqueue = 70000\n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("t.toml:11"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("takeover.queue"), std::string::npos) << bad.error().message;
}

TEST(ConfigParser, UnicastPeersWithPortsAndFilters) {
  auto c = parse_config(R"(
[node]
id = 1
[sync]
peers = ["[fd00::2]:4000", "fd00::3"]
bind = "fd00::1"
[[sync.keys]]
id = 3
file = "/k"
[filter]
ignore_protocols = ["igmp", 112]
ignore_addresses = ["10.0.0.0/8", "2001:db8::/32"]
ignore_tcp_states = ["syn_sent", "TIME_WAIT"]
ignore_marks = ["0x100/0xf00", 42]
virtual_addresses = ["203.0.113.10"]
[cache]
mode = "direct"
)",
                        "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->peers.size(), 2u);
  EXPECT_EQ(c->peers[0].second, 4000);
  EXPECT_EQ(c->peers[1].second, 3780);
  EXPECT_EQ(c->filter.ignore_protocols.size(), 2u);
  EXPECT_EQ(c->filter.ignore_marks[0].mask, 0xf00u);
  EXPECT_EQ(c->cache_mode, CacheMode::direct);
}

struct Bad {
  const char* what;
  std::string toml;
  const char* expect;  // must appear in the message
};

std::string with(const std::string& extra) {
  return std::string(kMinimal) + extra;
}

TEST(ConfigParser, BadFilesNameFileLineAndKey) {
  const std::vector<Bad> table = {
      {"unknown section", with("[bogus]\nx = 1\n"), "t.toml:10:2: bogus: unknown key"},
      {"misspelt key", with("[cache]\nMode = \"direct\"\n"),
       "cache.Mode: unknown key (did you mean 'mode'?)"},
      {"near miss", with("[kernel]\nnetlink_bufer = 1\n"), "did you mean 'netlink_buffer'?"},
      {"wrong type", with("[cache]\ncommit_batch = \"many\"\n"),
       "t.toml:11:16: cache.commit_batch: must be an integer"},
      {"out of range", with("[cache]\ncommit_batch = 0\n"),
       "cache.commit_batch: must be between 1 and 100000"},
      {"bad mode", with("[cache]\nmode = \"fast\"\n"),
       "cache.mode: must be \"external\" or \"direct\""},
      {"bad CIDR", with("[filter]\nignore_addresses = [\"10.0.0.1/8\"]\n"),
       "t.toml:11:21: filter.ignore_addresses"},
      {"bad state", with("[filter]\nignore_tcp_states = [\"OPEN\"]\n"), "filter.ignore_tcp_states"},
      {"bad metrics", with("[metrics]\nlisten = \"localhost\"\n"), "metrics.listen"},
      {"relative socket", with("[control]\nsocket = \"ctl.sock\"\n"),
       "control.socket: must be an absolute path"},
      {"no node id", "[node]\n[sync]\npeers=[\"10.0.0.2\"]\n[[sync.keys]]\nid=1\nfile=\"/k\"\n",
       "node.id: missing"},
      {"bad group",
       "[node]\nid=1\n[sync]\ninterface=\"s\"\nmulticast_group = "
       "\"10.0.0.1\"\n[[sync.keys]]\nid=1\nfile=\"/k\"\n",
       "t.toml:5:19: sync.multicast_group: '10.0.0.1' is not an IPv4 or IPv6 multicast address"},
      {"no keys", "[node]\nid=1\n[sync]\npeers=[\"10.0.0.2\"]\n", "sync.keys: missing"},
      {"send key unknown", with("[sync.x]\n"), "sync.x: unknown key"},
      {"syntax", "[node\nid=1\n", "t.toml:1:"},
      {"both transports",
       "[node]\nid=1\n[sync]\ninterface=\"s\"\nmulticast_group=\"239.1.1.1\"\npeers=[\"10.0.0.2\"]"
       "\n[[sync.keys]]\nid=1\nfile=\"/k\"\n",
       "either multicast_group or peers"},
  };
  for (const auto& b : table) {
    auto c = parse_config(b.toml, "t.toml");
    ASSERT_FALSE(c.ok()) << b.what;
    EXPECT_NE(c.error().message.find(b.expect), std::string::npos)
        << b.what << ": " << c.error().message;
  }
}

}  // namespace
}  // namespace ctsync

// ctsyncctl import-conntrackd: conntrackd's grammar, the translation of every setting with a
// counterpart, the listing of the others, and filters that keep their meaning. The examples
// Debian's conntrackd package installs are read from where it puts them, never copied here.
#include "config/conntrackd_import.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/config_parser.hpp"
#include "config/conntrackd_conf.hpp"
#include "core/flow_filter.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

const char* const examples = "/usr/share/doc/conntrackd/examples/sync";

std::string read(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string translated(const std::string& conf) {
  auto t = import_conntrackd(conf, "test.conf");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return t.ok() ? *t : std::string();
}

Config parsed(const std::string& toml) {
  auto c = parse_config(toml, "translated.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message) << "\n" << toml;
  return c.ok() ? *c : Config{};
}

std::string error_of(const std::string& conf) {
  auto t = import_conntrackd(conf, "bad.conf");
  EXPECT_FALSE(t.ok()) << *t;
  return t.ok() ? std::string() : t.error().message;
}

Flow flow(const char* src, const char* dst, std::uint8_t protocol = proto::tcp) {
  return test::addressed_flow(src, dst, protocol);
}

class DebianExample : public ::testing::TestWithParam<const char*> {};

TEST_P(DebianExample, TranslatesToAValidConfigurationThatKeepsItsFilters) {
  const std::string path = std::string(examples) + "/" + GetParam() + "/conntrackd.conf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing (package conntrackd)";
  const std::string toml = translated(read(path));
  const Config c = parsed(toml);
  EXPECT_EQ(to_string(c.multicast_group->family, c.multicast_group->address), "225.0.0.50");
  EXPECT_EQ(c.port, 3780);
  EXPECT_EQ(c.interface, "eth2");
  EXPECT_EQ(c.socket_send_buffer, 1249280);
  EXPECT_EQ(c.socket_receive_buffer, 1249280);
  EXPECT_EQ(c.netlink_buffer, 2097152);
  EXPECT_EQ(c.netlink_buffer_max, 8388608);
  EXPECT_EQ(c.cache_mode, CacheMode::external);
  EXPECT_EQ(c.filter.address_match, AddressMatch::sources);
  EXPECT_EQ(c.filter.ignore_addresses.size(), 6u);
  EXPECT_FALSE(c.filter.ignore_loopback);
  EXPECT_FALSE(c.filter.ignore_own_addresses);

  // conntrackd's meaning: TCP, SCTP and DCCP only; a flow is left out when either
  // direction's source is a listed address.
  const FlowFilter f(c.filter, {});
  EXPECT_FALSE(f.ignored(flow("10.0.0.5", "198.51.100.7")));
  EXPECT_FALSE(f.ignored(flow("10.0.0.5", "198.51.100.7", proto::sctp)));
  EXPECT_TRUE(f.ignored(flow("10.0.0.5", "198.51.100.7", proto::udp))) << "not accepted";
  EXPECT_TRUE(f.ignored(flow("10.0.0.5", "198.51.100.7", proto::icmp)));
  EXPECT_TRUE(f.ignored(flow("192.168.0.100", "198.51.100.7"))) << "a virtual IP as source";
  Flow to_vip = flow("198.51.100.7", "192.168.0.100");
  EXPECT_TRUE(f.ignored(to_vip)) << "the reply comes from the virtual IP";
  to_vip.reply.src = parse_any_address("10.0.0.80")->address;  // DNATed to a server
  EXPECT_FALSE(f.ignored(to_vip)) << "conntrackd matches sources only: the server answers";

  // What has no counterpart is listed, with why.
  for (const char* word : {"HashSize", "LockFile", "Checksum", "IPv4_interface", "UNIX"}) {
    EXPECT_NE(toml.find("#   line "), std::string::npos);
    EXPECT_NE(toml.find(std::string(": ") + word), std::string::npos) << word << "\n" << toml;
  }
  if (std::string(GetParam()) != "ftfw") {
    EXPECT_NE(toml.find("ctsyncd has one protocol"), std::string::npos) << toml;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, DebianExample, ::testing::Values("ftfw", "alarm", "notrack"));

TEST(ConntrackdConf, GrammarAsConntrackdReadsIt) {
  auto tree = conntrackd::parse(
      "# a comment\n"
      "Sync {\n"
      "  Mode FTFW { DisableExternalCache On }   # one line\n"
      "  UDP Default {\n"
      "    IPv4_address \"192.0.2.1\"\n"
      "  }\n"
      "}\n",
      "g.conf");
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  ASSERT_EQ(tree->size(), 1u);
  const auto& sync = tree->front();
  EXPECT_TRUE(sync.block);
  EXPECT_EQ(sync.line, 2);
  ASSERT_EQ(sync.children.size(), 2u);
  EXPECT_EQ(sync.children[0].words, (std::vector<std::string>{"Mode", "FTFW"}));
  ASSERT_EQ(sync.children[0].children.size(), 1u);
  EXPECT_EQ(sync.children[0].children[0].words,
            (std::vector<std::string>{"DisableExternalCache", "On"}));
  EXPECT_EQ(sync.children[1].children[0].words[1], "192.0.2.1") << "quotes removed";
  EXPECT_EQ(sync.children[1].children[0].line, 5);
}

TEST(ConntrackdConf, BrokenFilesNameTheLine) {
  EXPECT_EQ(error_of("Sync {\n  Mode FTFW {\n}\n"), "bad.conf:1: block 'Sync' is not closed");
  EXPECT_EQ(error_of("Sync {\n}\n}\n"), "bad.conf:3: '}' with no block open");
  EXPECT_EQ(error_of("General {\n LockFile \"/x\n}\n"), "bad.conf:2: quoted value not closed");
  EXPECT_EQ(error_of("{\n}\n"), "bad.conf:1: '{' with no block name");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "A {\n";
  EXPECT_NE(error_of(deep).find("nested too deep"), std::string::npos);
}

TEST(ConntrackdImport, AFileWithoutSyncIsAnErrorThatSaysSo) {
  EXPECT_NE(error_of("General {\n HashSize 8192\n}\nStats {\n LogFile on\n}\n")
                .find("bad.conf: no Sync section"),
            std::string::npos);
  EXPECT_NE(error_of("").find("no Sync section"), std::string::npos);
}

TEST(ConntrackdImport, BadValuesNameTheLine) {
  const std::string head = "Sync {\n Mode FTFW { }\n Multicast {\n";
  EXPECT_EQ(error_of(head + "  IPv4_address 225.0.0.500\n }\n}\n"),
            "bad.conf:4: '225.0.0.500' is not an address");
  EXPECT_EQ(error_of(head + "  Group many\n }\n}\n"),
            "bad.conf:4: 'Group' takes a number from 1 to 65535, not 'many'");
  EXPECT_EQ(error_of(head + "  Group 70000\n }\n}\n"),
            "bad.conf:4: 'Group' takes a number from 1 to 65535, not '70000'");
  const std::string sync = head + "  IPv4_address 225.0.0.50\n  Interface eth2\n }\n}\n";
  EXPECT_EQ(error_of(sync + "General {\n Filter {\n  Protocol Accept {\n   TCP\n   "
                            "Quux\n  }\n }\n}\n"),
            "bad.conf:12: protocol 'Quux' has no name in ctsyncd; write its number");
  EXPECT_EQ(error_of(sync + "General {\n Filter {\n  Address Ignore {\n   IPv4_address "
                            "10.0.0.1/8\n  }\n }\n}\n"),
            "bad.conf:11: '10.0.0.1/8' is not an address or prefix (host bits must be zero)");
  EXPECT_NE(error_of("sync {\n}\n").find("conntrackd reads keywords in this case: Sync"),
            std::string::npos);
  EXPECT_EQ(error_of("Sync {\n Mode FTFW { }\n}\n"),
            "bad.conf:1: Sync has no Multicast or UDP block");
}

TEST(ConntrackdImport, UnicastDirectModeStatesAndExpectations) {
  const std::string toml = translated(
      "Sync {\n"
      "  Mode FTFW {\n"
      "    DisableExternalCache on\n"
      "    PurgeTimeout 45\n"
      "    ResendQueueSize 131072\n"
      "  }\n"
      "  UDP {\n"
      "    IPv4_address 192.0.2.1\n"
      "    IPv4_Destination_Address 192.0.2.2\n"
      "    Port 3790\n"
      "    Interface sync0\n"
      "  }\n"
      "  Options {\n"
      "    TCPWindowTracking On\n"
      "    ExpectationSync {\n"
      "      ftp\n"
      "      sip\n"
      "    }\n"
      "  }\n"
      "}\n"
      "General {\n"
      "  Filter From Kernelspace {\n"
      "    State Accept {\n"
      "      ESTABLISHED CLOSED TIME_WAIT CLOSE_WAIT for TCP\n"
      "    }\n"
      "    Address Accept {\n"
      "      IPv4_address 10.0.0.0/8\n"
      "      IPv6_address fd00::/8\n"
      "    }\n"
      "  }\n"
      "}\n");
  const Config c = parsed(toml);
  EXPECT_EQ(c.cache_mode, CacheMode::direct);
  EXPECT_EQ(c.purge_after, seconds(45));
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(to_string(c.peers.front().first.family, c.peers.front().first.address), "192.0.2.2");
  EXPECT_EQ(to_string(c.bind->family, c.bind->address), "192.0.2.1");
  EXPECT_EQ(c.port, 3790);
  EXPECT_TRUE(c.tcp_window_tracking);
  EXPECT_TRUE(c.sync_expectations);
  EXPECT_NE(toml.find("the helper list (ftp sip) has no counterpart"), std::string::npos) << toml;
  EXPECT_NE(toml.find("ResendQueueSize 131072: counted in objects"), std::string::npos) << toml;
  // Accepted states kept, every other one ignored (CLOSED is the kernel's CLOSE).
  std::vector<std::uint8_t> ignored = c.filter.ignore_tcp_states;
  std::sort(ignored.begin(), ignored.end());
  std::vector<std::uint8_t> expected;
  for (auto s : {TcpState::none, TcpState::syn_sent, TcpState::syn_recv, TcpState::fin_wait,
                 TcpState::last_ack, TcpState::syn_sent2}) {
    expected.push_back(static_cast<std::uint8_t>(s));
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ignored, expected);
  const FlowFilter f(c.filter, {});
  EXPECT_FALSE(f.ignored(flow("10.1.2.3", "198.51.100.7")));
  EXPECT_TRUE(f.ignored(flow("192.0.2.9", "198.51.100.7"))) << "not in the accept list";
  Flow snat = flow("192.0.2.9", "198.51.100.7");
  snat.reply.src = parse_any_address("10.9.9.9")->address;
  EXPECT_FALSE(f.ignored(snat)) << "accepted by its reply source, as conntrackd does";
}

}  // namespace
}  // namespace ctsync

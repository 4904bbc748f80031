// RELATED data channels across a failover. The firewalls give port 21 the FTP helper and let
// new LAN->WAN connections through only to port 21, so an FTP data connection passes only as
// RELATED, through an expectation (counter "related"). vsftpd serves a file; scripted FTP
// clients, IPv4 and IPv6, passive and active, each in one of two situations:
//   after:  the control session exists before the failover; the data connection is announced
//           and opened after it (the new node's helper must have the master's state);
//   before: the data connection is announced before the failover and opened after it (the
//           new node must hold the old node's expectation).
// The negative control turns expectation sync off: every "before" transfer must then fail.
#include <gtest/gtest.h>

#include <memory>

#include "ftp.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::FtpClient;
using test::FtpServer;
using test::PairOptions;
using test::PairTopology;

struct Session {
  std::unique_ptr<FtpClient> ftp;
  bool passive = true;
  bool announced_before = false;
  std::string label;
};

struct RunResult {
  std::vector<std::string> passed, failed;
  std::uint64_t related_on_fw2 = 0;
  bool controls_alive = true;
};

RunResult run(PairOptions opts) {
  opts.ftp = true;
  PairTopology t(opts);
  // Client addresses as long as the SNAT address they become, so that nf_nat_ftp's rewrite
  // of PORT/EPRT keeps the command's length (see docs/operations.md on sequence adjustment).
  t.client.must("ip addr add 10.10.1.5/24 dev eth0 && ip addr add fd10:1::5/64 dev eth0 nodad");
  t.add_virtual_addresses(t.fw1);
  t.start_daemon(1);
  t.start_daemon(2);
  if (t.ctl(1, "promote") != 0) throw std::runtime_error("promote fw1");
  FtpServer server(t.server, t.dir);

  std::vector<Session> sessions;
  for (bool v6 : {false, true}) {
    for (bool passive : {true, false}) {
      for (bool before : {false, true}) {
        Session s;
        s.ftp = std::make_unique<FtpClient>(t.client, v6 ? "fd10:2::20" : "10.10.2.20",
                                            v6 ? "fd10:1::5" : "10.10.1.5");
        s.passive = passive;
        s.announced_before = before;
        s.label = std::string(v6 ? "ipv6 " : "ipv4 ") + (passive ? "passive " : "active ") +
                  (before ? "announced before" : "announced after");
        if (before) {
          passive ? (void)s.ftp->passive() : s.ftp->active();
          // NOOP carries our acknowledgement of the announcement: left unacknowledged, the
          // server would send it again through the new node, whose helper would then
          // create the expectation by itself and the negative control would prove nothing.
          if (!s.ftp->alive()) throw std::runtime_error("NOOP after announcing: " + s.label);
        }
        sessions.push_back(std::move(s));
      }
    }
  }
  // The backup holds the control connections and, with expectation sync, the expectations.
  const bool held = PairTopology::wait_for(
      [&] {
        const std::string flows = t.ctl_output(2, "flows --external");
        const std::string exps = t.ctl_output(2, "expectations --external");
        const auto lines = [](const std::string& s) {
          return std::count(s.begin(), s.end(), '\n');
        };
        // With SNAT, nf_nat_ftp rewrites the IPv6 EPRT into a longer string: the master's
        // sequence shift must be there too.
        const bool shifted =
            !opts.snat || !opts.sync_expectations ||
            t.ctl_output(2, "flows --external --json").find("seq_adjust") != std::string::npos;
        return lines(flows) >= 8 && (!opts.sync_expectations || lines(exps) >= 4) && shifted;
      },
      5000ms);
  if (!held) {
    throw std::runtime_error("fw2 never held the sessions: " + t.ctl_output(2, "status") +
                             "fw1 expectations:\n" + t.ctl_output(1, "expectations") +
                             "fw1 kernel:\n" + t.fw1.output("conntrack -L expect 2>&1") +
                             "fw2 external:\n" + t.ctl_output(2, "expectations --external") +
                             "fw2 stats:\n" + t.ctl_output(2, "stats"));
  }
  if (opts.cache_mode == "direct") {
    PairTopology::wait_for([&] { return std::stoul(t.fw2.output("conntrack -C")) >= 8; }, 5000ms);
  }

  const auto related_before = t.counter_value(t.fw2, "related");
  t.move_virtual_addresses(t.fw1, t.fw2);
  t.ctl(2, "promote");
  t.ctl(1, "demote");

  RunResult r;
  for (auto& s : sessions) {
    if (!s.announced_before) s.passive ? (void)s.ftp->passive() : s.ftp->active();
    const auto data = s.ftp->retrieve(3000ms);
    (data && *data == server.content() ? r.passed : r.failed).push_back(s.label);
  }
  for (auto& s : sessions) r.controls_alive = r.controls_alive && s.ftp->alive();
  r.related_on_fw2 = t.counter_value(t.fw2, "related") - related_before;
  return r;
}

std::string list(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

class ExpectationFailover : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ExpectationFailover, EveryDataConnectionPassesAsRelatedOnTheNewActiveNode) {
  PairOptions opts;
  opts.cache_mode = std::get<0>(GetParam());
  opts.snat = std::get<1>(GetParam());
  const RunResult r = run(opts);
  EXPECT_TRUE(r.failed.empty()) << "failed:" << list(r.failed);
  EXPECT_EQ(r.passed.size(), 8u);
  EXPECT_TRUE(r.controls_alive) << "a control connection broke";
  // Every data connection came in through the related rule of the node now active.
  EXPECT_GE(r.related_on_fw2, 8u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ExpectationFailover,
                         ::testing::Combine(::testing::Values("external", "direct"),
                                            ::testing::Bool()),
                         [](const auto& p) {
                           return std::get<0>(p.param) +
                                  (std::get<1>(p.param) ? "_snat" : "_routed");
                         });

// Negative control: without expectation sync, a data connection announced on the old node
// finds no expectation on the new one and is dropped; announced after, it still works (the
// committed master carries its helper).
TEST(ExpectationFailoverWithoutSync, DataConnectionsAnnouncedBeforeTheFailoverAreDropped) {
  PairOptions opts;
  opts.sync_expectations = false;
  const RunResult r = run(opts);
  for (const auto& label : r.failed) {
    EXPECT_NE(label.find("announced before"), std::string::npos) << label;
  }
  EXPECT_EQ(r.failed.size(), 4u) << "failed:" << list(r.failed) << "\npassed:" << list(r.passed);
  EXPECT_EQ(r.passed.size(), 4u);
}

}  // namespace
}  // namespace ctsync

// The Prometheus endpoint of a live pair: valid exposition format, counters that move by
// exactly what happened, traffic accounting that matches the bytes sent, a real Prometheus
// server scraping both nodes, and dashboards/alerts that only use metrics that exist.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "alert_recording.hpp"
#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"
#include "routed_topology.hpp"
#include "session_pool.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;

using test::firing;
using test::Recording;
using test::writer_in;

double value(const PairTopology& t, int node, const std::string& series) {
  return PairTopology::metric(t.scrape(node), series);
}

bool wait_value(const PairTopology& t, int node, const std::string& series, double want) {
  return PairTopology::wait_for([&] { return value(t, node, series) == want; }, 10000ms);
}

std::unique_ptr<PairTopology> pair(const std::string& extra = "") {
  PairOptions o;
  o.metrics = true;
  o.extra_config = extra;
  auto t = std::make_unique<PairTopology>(o);
  t->start_daemon(1);
  t->start_daemon(2);
  EXPECT_EQ(t->ctl(1, "promote"), 0);
  return t;
}

TEST(Metrics, ScrapesPassPromtoolAndCountersMoveByExactlyWhatHappened) {
  auto t = pair();
  for (int node : {1, 2}) {
    const std::string path = t->dir + "/scrape" + std::to_string(node) + ".txt";
    std::ofstream(path) << t->scrape(node);
    EXPECT_EQ(test::sh("promtool check metrics < " + path + " >/dev/null"), 0) << "node " << node;
  }
  const std::string before = t->scrape(1);
  const double new_before =
      PairTopology::metric(before, "ctsync_kernel_events_total{type=\"new\"}");
  const double upserts_before =
      PairTopology::metric(before, "ctsync_messages_sent_total{type=\"flow_upsert\"}");

  const std::size_t n = 300;
  ConntrackWriter w = writer_in(t->fw1);
  const auto flows = test::kernel_valid_flows(n, 31);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  EXPECT_TRUE(wait_value(*t, 1, "ctsync_flows{cache=\"internal\"}", n));
  EXPECT_TRUE(wait_value(*t, 2, "ctsync_flows{cache=\"external\"}", n));
  const std::string after = t->scrape(1);
  EXPECT_GE(PairTopology::metric(after, "ctsync_kernel_events_total{type=\"new\"}") - new_before,
            n);
  EXPECT_GE(PairTopology::metric(after, "ctsync_messages_sent_total{type=\"flow_upsert\"}") -
                upserts_before,
            n);
  EXPECT_EQ(PairTopology::metric(after, "ctsync_role{role=\"active\"}"), 1);
  EXPECT_EQ(PairTopology::metric(after, "ctsync_peer_up{peer=\"2\"}"), 1);
  EXPECT_EQ(value(*t, 2, "ctsync_ready"), 1);

  // 100 flows end on the active node; 200 remain everywhere.
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < 100; ++i) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  EXPECT_TRUE(wait_value(*t, 1, "ctsync_flows{cache=\"internal\"}", n - 100));
  EXPECT_TRUE(wait_value(*t, 2, "ctsync_flows{cache=\"external\"}", n - 100));

  // fw2 takes over: exactly the 200 flows are committed, in one commit.
  ASSERT_EQ(t->ctl(1, "demote"), 0);
  ASSERT_EQ(t->ctl(2, "promote"), 0);
  EXPECT_TRUE(wait_value(*t, 2, "ctsync_committed_flows_total{result=\"created\"}", n - 100));
  const std::string s2 = t->scrape(2);
  EXPECT_EQ(PairTopology::metric(s2, "ctsync_committed_flows_total{result=\"failed\"}"), 0);
  EXPECT_EQ(PairTopology::metric(s2, "ctsync_commit_duration_seconds_count"), 1);
  EXPECT_EQ(PairTopology::metric(s2, "ctsync_role{role=\"active\"}"), 1);
  EXPECT_EQ(PairTopology::metric(s2, "ctsync_role_changes_total"), 1);
}

TEST(Metrics, TrafficAccountingMatchesTheBytesSent) {
  auto t = pair("[kernel]\naccounting_interval_s = 1\n");
  t->add_virtual_addresses(t->fw1);
  EXPECT_EQ(value(*t, 1, "ctsync_accounting_enabled"), 1);
  const std::string series =
      "ctsync_traffic_bytes_total{direction=\"original\",family=\"ipv4\",protocol=\"tcp\"}";
  const double before = value(*t, 1, series);

  const int l = test::socket_in(t->server, AF_INET, SOCK_STREAM);
  auto sa = test::endpoint("10.10.2.20", 7000);
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&sa), test::endpoint_len(sa)), 0);
  ASSERT_EQ(::listen(l, 1), 0);
  const int c = test::socket_in(t->client, AF_INET, SOCK_STREAM);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&sa), test::endpoint_len(sa)), 0);
  const int s = ::accept(l, nullptr, nullptr);
  const std::size_t total = 2'000'000;
  std::thread reader([s, total] {
    std::vector<char> buf(65536);
    std::size_t got = 0;
    while (got < total) {
      const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
  });
  std::vector<char> data(total, 'x');
  std::size_t sent = 0;
  while (sent < total) {
    const ssize_t n = ::send(c, data.data() + sent, total - sent, 0);
    ASSERT_GT(n, 0);
    sent += static_cast<std::size_t>(n);
  }
  reader.join();
  // Counted from the live flow by the next periodic dump (every second here).
  double counted = 0;
  PairTopology::wait_for(
      [&] {
        counted = value(*t, 1, series) - before;
        return counted >= total;
      },
      10000ms);
  EXPECT_GE(counted, total);
  EXPECT_LE(counted, total * 1.05) << "payload plus TCP/IP headers: within 5 %";
  ::close(c);
  ::close(s);
  ::close(l);
}

TEST(Metrics, APrometheusServerScrapesBothNodes) {
  auto t = pair();
  // A monitoring host on the sync network, as operators usually have one.
  test::Namespace mon("mon");
  const std::string a = "vm" + std::to_string(::getpid() % 100000) + "a",
                    b = "vm" + std::to_string(::getpid() % 100000) + "b";
  test::sh_or_throw("ip link add " + a + " type veth peer name " + b);
  test::sh_or_throw("ip link set " + a + " netns " + mon.name() + " name eth0");
  test::sh_or_throw("ip link set " + b + " netns " + t->sw.name());
  t->sw.must("ip link set " + b + " master br-sync && ip link set " + b + " up");
  mon.must("ip addr add 10.10.3.9/24 dev eth0 && ip link set eth0 up");
  std::ofstream(t->dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n"
      << "scrape_configs:\n  - job_name: ctsyncd\n    static_configs:\n"
      << "      - targets: ['" << t->metrics_address(1) << "', '" << t->metrics_address(2)
      << "']\n";
  test::ChildProcess prom;
  prom.start({"ip", "netns", "exec", mon.name(), "prometheus",
              "--config.file=" + t->dir + "/prometheus.yml",
              "--storage.tsdb.path=" + t->dir + "/tsdb", "--web.listen-address=10.10.3.9:9090"},
             t->dir + "/prometheus.log");
  std::string answer;
  const bool both = PairTopology::wait_for(
      [&] {
        answer = mon.output(
            "curl -s --max-time 2 "
            "'http://10.10.3.9:9090/api/v1/query?query=ctsync_role%7Brole%3D%22active%22%7D'");
        return answer.find(t->metrics_address(1)) != std::string::npos &&
               answer.find(t->metrics_address(2)) != std::string::npos;
      },
      20000ms);
  EXPECT_TRUE(both) << answer << prom.log();
  // fw1 is the active one: value 1 for it, 0 for fw2.
  const std::regex one("\"instance\":\"" + t->metrics_address(1) + "\"[^}]*\\}[^\\]]*\"1\"");
  const std::regex zero("\"instance\":\"" + t->metrics_address(2) + "\"[^}]*\\}[^\\]]*\"0\"");
  EXPECT_TRUE(std::regex_search(answer, one)) << answer;
  EXPECT_TRUE(std::regex_search(answer, zero)) << answer;

  // Replication latency as an operator asks for it: the p99 to every up peer, per node.
  ConntrackWriter w = writer_in(t->fw1);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(200, 71), r).ok());
  auto query = [&](const std::string& q) {
    std::string encoded;
    for (char c : q) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
        encoded += c;
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
        encoded += hex;
      }
    }
    return mon.output("curl -s --max-time 2 'http://10.10.3.9:9090/api/v1/query?query=" + encoded +
                      "'");
  };
  const std::string p99 =
      "histogram_quantile(0.99, sum by (instance, le) "
      "(rate(ctsync_replication_latency_all_peers_seconds_bucket[1m])))";
  const std::regex latency("\"instance\":\"" + t->metrics_address(1) +
                           "\"\\}[^\\]]*\"(0\\.[0-9e.-]+|[0-9.]+e-[0-9]+)\"");
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return std::regex_search(answer = query(p99), latency); }, 20000ms))
      << answer;

  // The control: fw2's daemon stopped. Its scrapes fail (up 0) and its role is gone.
  ASSERT_EQ(t->d2.kill(SIGTERM), 0);
  const std::string fw2 = "{instance=\"" + t->metrics_address(2) + "\"}";
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        answer = query("up" + fw2);
        return answer.find("\"0\"]") != std::string::npos;
      },
      20000ms))
      << answer;
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        answer = query("ctsync_role" + fw2);
        return answer.find("\"result\":[]") != std::string::npos;
      },
      20000ms))
      << answer;
  EXPECT_NE(
      query("ctsync_role{instance=\"" + t->metrics_address(1) + "\"}").find(t->metrics_address(1)),
      std::string::npos)
      << "fw1's role is still there";
  prom.kill(SIGTERM);
}

// Every sync datagram between the nodes dropped (at the backup, both ways) for 15 s, then let
// through. The changes made meanwhile are at risk for as long (the backup, down for the
// active node, is still the node that would take over), and once the drop ends they are
// acknowledged and their latency is at least its length. The series recorded from the daemon fire
// the at-risk alert during the drop and the latency alert after it; the minutes before the drop
// fire nothing (the control).
TEST(Metrics, ChangesAtRiskDuringALossAndTheirLatencyFireTheAlertsOnRecordedSeries) {
  auto t = pair();
  ASSERT_TRUE(PairTopology::wait_for([&] { return t->ctl(2, "ready") == 0; }, 10000ms));
  ConntrackWriter w = writer_in(t->fw1);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(50, 61), r).ok());
  const std::vector<std::string> recorded = {"ctsync_changes_at_risk",
                                             "ctsync_replication_latency_all_peers_seconds"};
  Recording rec;
  auto sample = [&] {
    rec.take(t->scrape(1), recorded);
    std::this_thread::sleep_for(1000ms);
  };
  for (int i = 0; i < 3; ++i) sample();
  EXPECT_EQ(value(*t, 1, "ctsync_changes_at_risk"), 0);

  t->fw2.must(
      "nft add table inet drop_sync && nft add chain inet drop_sync in \"{ type filter hook "
      "input priority -200; }\" && nft add rule inet drop_sync in udp dport 3780 drop && nft add "
      "chain inet drop_sync out \"{ type filter hook output priority -200; }\" && nft add rule "
      "inet drop_sync out udp dport 3780 drop");
  const std::size_t drop_at = rec.samples;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(100, 62), r).ok());
  for (int i = 0; i < 15; ++i) sample();
  const std::string during = t->scrape(1);
  EXPECT_GE(PairTopology::metric(during, "ctsync_changes_at_risk"), 100);
  EXPECT_GE(PairTopology::metric(during, "ctsync_changes_at_risk_oldest_seconds"), 12);
  EXPECT_EQ(PairTopology::metric(during, "ctsync_peer_up{peer=\"2\"}"), 0)
      << "the backup is not heard, and is still owed the changes: it would take over";

  t->fw2.must("nft delete table inet drop_sync");
  const std::size_t healed_at = rec.samples;
  EXPECT_TRUE(
      PairTopology::wait_for([&] { return value(*t, 1, "ctsync_changes_at_risk") == 0; }, 10000ms));
  for (int i = 0; i < 5; ++i) sample();
  const std::string after = t->scrape(1);
  EXPECT_EQ(PairTopology::metric(after, "ctsync_changes_at_risk_oldest_seconds"), 0);
  const double all =
      PairTopology::metric(after, "ctsync_replication_latency_all_peers_seconds_count");
  const double under_10s =
      PairTopology::metric(after, "ctsync_replication_latency_all_peers_seconds_bucket{le=\"10\"}");
  EXPECT_GE(all, 150);
  EXPECT_GE(all - under_10s, 100) << "the changes of the drop took at least its 15 s";
  EXPECT_GE(PairTopology::metric(after, "ctsync_replication_latency_seconds_count{peer=\"2\"}"),
            150);
  const std::string status = t->ctl_output(1, "status");
  EXPECT_NE(status.find("at risk: nothing"), std::string::npos) << status;
  EXPECT_NE(status.find("replication latency (to every up peer"), std::string::npos) << status;

  // The alerts, on what was recorded (one sample a second; then held for six minutes).
  std::size_t first_over_10 = 0;
  const auto& oldest = rec.series.at("ctsync_changes_at_risk_oldest_seconds");
  for (std::size_t i = drop_at; i < oldest.size() && first_over_10 == 0; ++i) {
    if (oldest[i] > 10) first_over_10 = i;
  }
  ASSERT_NE(first_over_10, 0u) << "no sample above 10 s during the drop";
  std::ofstream(t->dir + "/recorded_test.yml")
      << "rule_files:\n  - " << CTSYNC_SOURCE_DIR
      << "/packaging/prometheus/ctsyncd-alerts.yml\nevaluation_interval: 1s\ntests:\n"
      << "  - interval: 1s\n    input_series:\n"
      << rec.input_series(360) << "    promql_expr_test:\n"
      << firing("CtsyncdChangesAtRisk", 2, false) << firing("CtsyncdReplicationSlow", 2, false)
      << firing("CtsyncdChangesAtRisk", first_over_10, true)
      << firing("CtsyncdChangesAtRisk", healed_at + 4, false)
      << firing("CtsyncdReplicationSlow", healed_at + 90, true)
      << firing("CtsyncdReplicationSlow", healed_at + 360, false);
  const std::string out =
      test::sh_output("promtool test rules " + t->dir + "/recorded_test.yml 2>&1");
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

// A real switchover's report, recorded from the new active node: a takeover that wrote every
// flow fires nothing. The same recording with three flows not written (what a full kernel
// table reports) fires the alert, and an hour later it has resolved.
TEST(Metrics, TheTakeoverAlertFiresOnlyForATakeoverThatLostSomething) {
  auto t = pair();
  ConntrackWriter w = writer_in(t->fw1);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(100, 81), r).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return t->external_count(2) == 100; }, 10000ms));
  Recording rec;
  rec.instance = "fw2";
  const std::vector<std::string> recorded = {"ctsync_last_takeover_"};
  for (int i = 0; i < 3; ++i) {
    rec.take(t->scrape(2), recorded);
    std::this_thread::sleep_for(1000ms);
  }
  ASSERT_EQ(t->ctl(1, "demote"), 0);
  ASSERT_EQ(t->ctl(2, "promote"), 0);
  for (int i = 0; i < 4; ++i) {
    rec.take(t->scrape(2), recorded);
    std::this_thread::sleep_for(1000ms);
  }
  ASSERT_EQ(rec.series.at("ctsync_last_takeover_flows{written=\"committed\"}").back(), 100);
  ASSERT_EQ(rec.series.at("ctsync_last_takeover_flows{written=\"failed\"}").back(), 0);

  auto run = [&](const Recording& series, bool fires) {
    const std::string path = t->dir + (fires ? "/takeover_lost.yml" : "/takeover_clean.yml");
    std::ofstream(path)
        << "rule_files:\n  - " << CTSYNC_SOURCE_DIR
        << "/packaging/prometheus/ctsyncd-alerts.yml\nevaluation_interval: 1s\ntests:\n"
        << "  - interval: 1s\n    input_series:\n"
        << series.input_series(3700) << "    promql_expr_test:\n"
        << firing("CtsyncdTakeoverLostSomething", 2, false)
        << firing("CtsyncdTakeoverLostSomething", 10, fires)
        << firing("CtsyncdTakeoverLostSomething", 3700, false);
    return test::sh_output("promtool test rules " + path + " 2>&1");
  };
  std::string out = run(rec, false);
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << "a clean takeover fires nothing\n" << out;
  Recording lost = rec;
  for (std::size_t i = 3; i < lost.samples; ++i)
    lost.series.at("ctsync_last_takeover_flows{written=\"failed\"}")[i] = 3;
  out = run(lost, true);
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

// A backup whose copy may hold 10 flows (sync.max_peer_flows) while the active node has 50:
// not ready for as long as that lasts. On the series recorded from both nodes the readiness
// alert fires for the backup after its 5 minutes, and never for the active node (always
// ready by definition), nor before.
TEST(Metrics, TheNotReadyAlertFiresForTheBackupOnRecordedSeries) {
  PairOptions o;
  o.metrics = true;
  PairTopology t(o);
  t.start_daemon(1);
  t.start_daemon_with(2, t.config_with_sync(2, "max_peer_flows = 10\n", "small2.toml"));
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(test::kernel_valid_flows(50, 91), r).ok());
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return value(t, 2, "ctsync_ready") == 0 && value(t, 1, "ctsync_ready") == 1; },
      10000ms));
  EXPECT_NE(t.ctl(2, "ready"), 0);
  Recording active, backup;
  backup.instance = "fw2";
  for (int i = 0; i < 3; ++i) {
    active.take(t.scrape(1), {"ctsync_ready", "ctsync_role"});
    backup.take(t.scrape(2), {"ctsync_ready", "ctsync_role"});
    std::this_thread::sleep_for(1000ms);
  }
  std::ofstream(t.dir + "/not_ready.yml")
      << "rule_files:\n  - " << CTSYNC_SOURCE_DIR
      << "/packaging/prometheus/ctsyncd-alerts.yml\nevaluation_interval: 10s\ntests:\n"
      << "  - interval: 1s\n    input_series:\n"
      << active.input_series(400) << backup.input_series(400) << "    promql_expr_test:\n"
      << firing("CtsyncdNotReady", 60, false)
      << "      - expr: count by (instance) (ALERTS{alertname=\"CtsyncdNotReady\","
         "alertstate=\"firing\"})\n        eval_time: 330s\n        exp_samples:\n"
         "          - labels: '{instance=\"fw2\"}'\n            value: 1\n";
  const std::string out = test::sh_output("promtool test rules " + t.dir + "/not_ready.yml 2>&1");
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

// Every ctsync_* name in the dashboard and the alert rules exists in a live scrape of a pair.
TEST(Metrics, DashboardAndAlertsUseOnlyExportedMetrics) {
  auto t = pair();
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return value(*t, 1, "ctsync_peer_up{peer=\"2\"}") == 1; }, 5000ms));
  const std::string scrape = t->scrape(1) + t->scrape(2);
  std::set<std::string> exported;
  const std::regex name_re("^(ctsync_[a-z0-9_]+)");
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, name_re)) exported.insert(m[1]);
  }
  for (const char* file :
       {"/packaging/grafana/ctsyncd.json", "/packaging/prometheus/ctsyncd-alerts.yml"}) {
    std::ifstream in(std::string(CTSYNC_SOURCE_DIR) + file);
    ASSERT_TRUE(in) << file;
    // Only the queries: lines holding an "expr" (JSON panels, YAML rules); descriptions may
    // talk about metric families.
    std::string text;
    for (std::string line; std::getline(in, line);) {
      if (line.find("expr") != std::string::npos) text += line + "\n";
    }
    const std::regex use("ctsync_[a-z0-9_]+");
    std::size_t uses = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), use);
         it != std::sregex_iterator(); ++it) {
      ++uses;
      EXPECT_TRUE(exported.count(it->str()))
          << file << " uses " << it->str() << ", which is not exported";
    }
    EXPECT_GT(uses, 10u) << file;
  }
}

}  // namespace
}  // namespace ctsync

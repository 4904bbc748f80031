// The Prometheus endpoint of a live pair: valid exposition format, counters that move by
// exactly what happened, traffic accounting that matches the bytes sent, a real Prometheus
// server scraping both nodes, and dashboards/alerts that only use metrics that exist.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

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
  prom.kill(SIGTERM);
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

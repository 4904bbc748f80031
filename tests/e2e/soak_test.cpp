// Soak (label slow, outside CI): a pair under a steady churn of flows for 10 minutes
// (CTSYNC_SOAK_MINUTES). Memory must not creep: the slope of each daemon's RSS over the last
// 8 minutes stays under 1 MB/min. At the end the caches equal the kernel.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <thread>

#include "flow_compare.hpp"
#include "flow_factory.hpp"
#include "kernel/conntrack_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

double rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Least-squares slope in MB per minute.
double slope(const std::vector<std::pair<double, double>>& pts) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : pts) {
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

TEST(Soak, MemoryIsFlatAndCachesStayEqualUnderLoad) {
  const double minutes =
      std::getenv("CTSYNC_SOAK_MINUTES") ? std::atof(std::getenv("CTSYNC_SOAK_MINUTES")) : 10.0;
  PairTopology t;
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  auto writer = [&] {
    test::EnterNamespace in(t.fw1);
    auto w = ConntrackWriter::open({});
    if (!w) throw std::runtime_error(w.error().message);
    return std::move(*w);
  }();
  std::mt19937_64 rng(8);
  std::vector<Flow> live = test::kernel_valid_flows(20000, 71);
  std::vector<WriteResult> r;
  ASSERT_TRUE(writer.upsert(live, r).ok());
  std::uint32_t serial = 200000;
  std::vector<std::pair<double, double>> rss1, rss2;
  const auto start = std::chrono::steady_clock::now();
  auto next_sample = start;
  const auto end = start + std::chrono::duration<double, std::ratio<60>>(minutes);
  while (std::chrono::steady_clock::now() < end) {
    // About 1000 creates, 1000 destroys and 400 updates per second.
    auto fresh = test::kernel_valid_flows(100, rng(), serial);
    serial = serial >= 4000000 ? 200000 : serial + 100;
    ASSERT_TRUE(writer.upsert(fresh, r).ok());
    live.insert(live.end(), fresh.begin(), fresh.end());
    std::vector<Flow> changed;
    for (int i = 0; i < 40; ++i) {
      Flow f = live[rng() % live.size()];
      f.mark = static_cast<std::uint32_t>(rng());
      changed.push_back(f);
    }
    std::vector<ConntrackWriter::Op> ops;
    for (const auto& f : changed) ops.push_back({WriteKind::update, &f});
    std::vector<int> errors;
    ASSERT_TRUE(writer.apply(ops, errors).ok());
    std::vector<FlowKey> gone;
    while (live.size() > 20000) {
      const std::size_t k = rng() % live.size();
      gone.push_back(live[k].key);
      live[k] = live.back();
      live.pop_back();
    }
    ASSERT_TRUE(writer.remove(gone, errors).ok());
    if (std::chrono::steady_clock::now() >= next_sample) {
      const double m =
          std::chrono::duration<double, std::ratio<60>>(std::chrono::steady_clock::now() - start)
              .count();
      rss1.emplace_back(m, rss_mb(t.d1.pid()));
      rss2.emplace_back(m, rss_mb(t.d2.pid()));
      next_sample += 10s;
    }
    std::this_thread::sleep_for(100ms);
  }
  // The last 8 minutes (or the last 80 % of a shorter run).
  const double from = std::max(minutes - 8.0, minutes * 0.2);
  auto tail = [from](const std::vector<std::pair<double, double>>& v) {
    std::vector<std::pair<double, double>> out;
    for (const auto& p : v) {
      if (p.first >= from) out.push_back(p);
    }
    return out;
  };
  const double s1 = slope(tail(rss1)), s2 = slope(tail(rss2));
  std::printf(
      "[ soak %.0f min ] RSS fw1 %.1f -> %.1f MB (slope %.3f MB/min), fw2 %.1f -> %.1f MB (slope "
      "%.3f MB/min)\n",
      minutes, rss1.front().second, rss1.back().second, s1, rss2.front().second, rss2.back().second,
      s2);
  EXPECT_LT(s1, 1.0);
  EXPECT_LT(s2, 1.0);
  std::string diff;
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        const auto kernel = test::as_json(test::kernel_flows(t.fw1));
        auto copy =
            nlohmann::json::parse(t.ctl_output(2, "flows --external --json"), nullptr, false);
        diff = test::compare(kernel, copy, 100000);
        return diff.empty();
      },
      30000ms))
      << diff;
}

}  // namespace
}  // namespace ctsync

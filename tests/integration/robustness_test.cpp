// Faults on a live pair: the kernel table full during a commit, the daemon killed in the
// middle of a commit and in the middle of a bulk. The pair must say what happened, keep
// running, and converge again.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;

using test::writer_in;

nlohmann::json status(const PairTopology& t, int node) {
  auto j = nlohmann::json::parse(t.ctl_output(node, "status --json"), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

std::size_t test_flows_in_kernel(const test::Namespace& ns) {
  return std::stoul(ns.output(
      "conntrack -L 2>/dev/null | grep -c -E \"dst=(198[.]51[.]100[.]|2001:db8:)\" || true"));
}

std::size_t external_flows(const PairTopology& t, int node) {
  const auto s = status(t, node);
  return s.contains("external_flows") ? s["external_flows"].get<std::size_t>() : 0;
}

// nf_conntrack_max is global: lowered under a ctest RESOURCE_LOCK, always put back.
class ConntrackMaxGuard {
 public:
  explicit ConntrackMaxGuard(long value) {
    std::ifstream("/proc/sys/net/netfilter/nf_conntrack_max") >> saved_;
    std::ofstream("/proc/sys/net/netfilter/nf_conntrack_max") << value;
  }
  ~ConntrackMaxGuard() { restore(); }
  void restore() {
    if (saved_ > 0) std::ofstream("/proc/sys/net/netfilter/nf_conntrack_max") << saved_;
    saved_ = 0;
  }

 private:
  long saved_ = 0;
};

TEST(Robustness, FullKernelTableDuringACommitIsReportedAndFinishedLater) {
  PairTopology t;
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);
  const auto flows = test::kernel_valid_flows(1500, 51);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  ASSERT_TRUE(PairTopology::wait_for([&] { return external_flows(t, 2) == 1500; }, 10000ms));

  ConntrackMaxGuard guard(1000);
  ASSERT_EQ(t.ctl(1, "demote"), 0);
  const std::string out = t.ctl_output(2, "promote; echo \"exit=$?\"");
  EXPECT_NE(out.find("exit=1"), std::string::npos) << "an incomplete commit is a failure: " << out;
  EXPECT_NE(out.find("Cannot allocate memory"), std::string::npos)
      << "the reason (table full): " << out;
  const std::size_t held = test_flows_in_kernel(t.fw2);
  EXPECT_GT(held, 0u);
  EXPECT_LT(held, 1500u);
  EXPECT_TRUE(t.d2.running()) << "a full table is not a reason to stop";
  const auto s = status(t, 2);
  EXPECT_EQ(s["role"], "active");
  EXPECT_NE(s["last_commit"].get<std::string>().find(std::to_string(1500 - held) + " failed"),
            std::string::npos)
      << s.dump();

  // Room again: the operator (or an alert handler) commits again and it completes.
  guard.restore();
  EXPECT_EQ(t.ctl(2, "commit"), 0);
  EXPECT_EQ(test_flows_in_kernel(t.fw2), 1500u);
}

TEST(Robustness, KilledInTheMiddleOfACommitTheNodeRedoesItOnRestart) {
  PairTopology t;
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);
  const auto flows = test::kernel_valid_flows(150000, 52);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  // Random SNAT ports can give two flows the same reply tuple; the kernel keeps one of them.
  const std::size_t n = test_flows_in_kernel(t.fw1);
  ASSERT_GT(n, 149000u);
  ASSERT_TRUE(PairTopology::wait_for([&] { return external_flows(t, 2) == n; }, 30000ms))
      << external_flows(t, 2) << "\n"
      << t.ctl_output(1, "status") << t.ctl_output(2, "status") << t.ctl_output(1, "stats");

  ASSERT_EQ(t.ctl(1, "demote"), 0);
  std::thread promote([&] { t.ctl(2, "promote"); });
  // Kill fw2's daemon once the commit has written some, but not all, of the flows.
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return std::stoul(t.fw2.output("conntrack -C")) > 1000; }, 10000ms));
  t.d2.kill(SIGKILL);
  promote.join();
  const std::size_t partial = test_flows_in_kernel(t.fw2);
  ASSERT_GT(partial, 0u);
  ASSERT_LT(partial, n) << "the kill came too late to interrupt the commit";

  // The restarted daemon knows its commit was cut short, fetches fw1's table (fw1 is a backup
  // now, and answers such a request), and writes everything.
  t.start_daemon(2);
  // Generous deadlines: a sanitizer build on a loaded 2-core machine is many times slower.
  EXPECT_TRUE(PairTopology::wait_for([&] { return test_flows_in_kernel(t.fw2) == n; }, 90000ms))
      << test_flows_in_kernel(t.fw2) << " of " << n << "\n"
      << t.d2.log().substr(0, 4000);
  EXPECT_EQ(status(t, 2)["role"], "active");
  // And fw1's copy of the new active node is complete again.
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return t.ctl(1, "ready") == 0 && external_flows(t, 1) >= n; }, 90000ms))
      << external_flows(t, 1) << " of " << n << "\n"
      << t.ctl_output(1, "status") << t.ctl_output(2, "status") << t.ctl_output(1, "stats")
      << t.d1.log().substr(0, 4000);
}

TEST(Robustness, KilledInTheMiddleOfABulkBothSidesConvergeAgain) {
  PairTopology t;
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ConntrackWriter w = writer_in(t.fw1);
  const auto flows = test::kernel_valid_flows(100000, 53);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  const std::size_t n = test_flows_in_kernel(t.fw1);
  ASSERT_TRUE(PairTopology::wait_for([&] { return external_flows(t, 2) == n; }, 30000ms));

  // The receiver dies while a bulk streams to it; then the sender dies during the next one.
  t.d2.kill(SIGKILL);
  t.start_daemon(2);
  ASSERT_TRUE(PairTopology::wait_for([&] { return external_flows(t, 2) > 0; }, 10000ms));
  t.d2.kill(SIGKILL);
  t.start_daemon(2);
  ASSERT_TRUE(PairTopology::wait_for([&] { return external_flows(t, 2) > 0; }, 10000ms));
  t.d1.kill(SIGKILL);
  t.start_daemon(1);
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return external_flows(t, 2) == n && t.ctl(2, "ready") == 0; }, 30000ms))
      << external_flows(t, 2);
  EXPECT_EQ(status(t, 1)["role"], "active")
      << "a daemon killed on the active node resumes as active";
}

}  // namespace
}  // namespace ctsync

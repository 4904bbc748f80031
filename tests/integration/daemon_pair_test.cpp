// Two ctsyncd in two namespaces with real kernels: what the active node's kernel holds, the
// backup holds too, field by field, through deletes, overruns and restarts.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <map>
#include <nlohmann/json.hpp>

#include "control/flow_json.hpp"
#include "flow_compare.hpp"
#include "flow_factory.hpp"
#include "kernel/conntrack_dump.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"
#include "routed_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::as_json;
using test::compare;
using test::kernel_flows;
using test::PairOptions;
using test::PairTopology;

using test::writer_in;

nlohmann::json external_of(const PairTopology& t, int node) {
  const auto out = t.ctl_output(node, "flows --external --json");
  auto j = nlohmann::json::parse(out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::array() : j;
}

// When this test process started: every flow it writes is younger than that.
const auto process_started = std::chrono::steady_clock::now();

// The copy keeps the timeout captured with the flow's last change while the kernel's counts
// down, so they may differ by the age of the flows (plus a margin). A slow (sanitizer) build
// can take many seconds to write them, so the age is counted from the process start.
std::string wait_equal(PairTopology& t, std::chrono::milliseconds timeout) {
  const auto since = process_started;
  std::string diff = "never compared";
  PairTopology::wait_for(
      [&] {
        const int slack = 5 + static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                                                   std::chrono::steady_clock::now() - since)
                                                   .count());
        diff = compare(as_json(kernel_flows(t.fw1)), external_of(t, 2), slack);
        return diff.empty();
      },
      timeout);
  return diff;
}

class DaemonPair : public ::testing::Test {
 protected:
  void start(PairOptions opts = {}) {
    t_ = std::make_unique<PairTopology>(opts);
    t_->start_daemon(1);
    t_->start_daemon(2);
    ASSERT_EQ(t_->ctl(1, "promote"), 0);
  }
  std::unique_ptr<PairTopology> t_;
};

TEST_F(DaemonPair, FlowsOnTheActiveNodeReachTheBackupWithEveryFieldEqual) {
  start();
  ConntrackWriter w = writer_in(t_->fw1);
  const auto flows = test::kernel_valid_flows(2000, 21);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  EXPECT_EQ(wait_equal(*t_, 10s), "");

  // Deleted on the active node, deleted on the backup.
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < flows.size(); i += 2) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  EXPECT_EQ(wait_equal(*t_, 10s), "");
  EXPECT_EQ(external_of(*t_, 2).size(), flows.size() - gone.size());
}

TEST_F(DaemonPair, DirectModeBackupKernelHoldsTheFlows) {
  PairOptions opts;
  opts.cache_mode = "direct";
  opts.extra_config = "[kernel]\ntcp_window_tracking = true\n";
  start(opts);
  ConntrackWriter w = writer_in(t_->fw1);
  const auto flows = test::kernel_valid_flows(1000, 22);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  std::string diff;
  EXPECT_TRUE(PairTopology::wait_for(
      [&] {
        diff = compare(as_json(kernel_flows(t_->fw1)), as_json(kernel_flows(t_->fw2)), 5);
        return diff.empty();
      },
      10s))
      << diff;
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < flows.size(); i += 3) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return kernel_flows(t_->fw2).size() == flows.size() - gone.size(); }, 10s));
}

TEST_F(DaemonPair, AnOverrunIsDetectedAndRepaired) {
  PairOptions opts;
  // A buffer far too small for the storm below, and no room to grow.
  opts.extra_config = "[kernel]\nnetlink_buffer = 65536\nnetlink_buffer_max = 65536\n";
  start(opts);
  ConntrackWriter w = writer_in(t_->fw1);
  // Enough to overrun 64 KiB many times over; few enough to compare quickly under ASan.
  const auto flows = test::kernel_valid_flows(12000, 23);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < flows.size(); i += 4) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  EXPECT_EQ(wait_equal(*t_, 60s), "");
  const auto stats = nlohmann::json::parse(t_->ctl_output(1, "stats --json"));
  EXPECT_GT(stats["kernel"]["overruns"].get<int>(), 0) << "the storm must overrun a 64 KiB buffer";
  EXPECT_GT(stats["kernel"]["resyncs"].get<int>(), 1);
}

TEST_F(DaemonPair, RestartsConvergeAgain) {
  start();
  ConntrackWriter w = writer_in(t_->fw1);
  const auto flows = test::kernel_valid_flows(1000, 24);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w.upsert(flows, r).ok());
  ASSERT_EQ(wait_equal(*t_, 10s), "");

  // The active node's daemon stops cleanly; its kernel changes meanwhile; it comes back
  // (remembering it is active) and the backup ends up equal, nothing stale, nothing lost.
  EXPECT_EQ(t_->d1.kill(SIGTERM), 0) << t_->d1.log();
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < 200; ++i) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w.remove(gone, errors).ok());
  const auto more = test::kernel_valid_flows(300, 25, 50000);
  ASSERT_TRUE(w.upsert(more, r).ok());
  t_->start_daemon(1);
  EXPECT_EQ(wait_equal(*t_, 10s), "");
  EXPECT_NE(t_->ctl_output(1, "status").find("active"), std::string::npos);

  // The backup restarts and fetches everything again.
  EXPECT_EQ(t_->d2.kill(SIGTERM), 0);
  const auto later = test::kernel_valid_flows(100, 26, 60000);
  ASSERT_TRUE(w.upsert(later, r).ok());
  t_->start_daemon(2);
  EXPECT_EQ(wait_equal(*t_, 10s), "");
  EXPECT_TRUE(PairTopology::wait_for([&] { return t_->ctl(2, "ready") == 0; }, 5s));
}

std::size_t status_count(const PairTopology& t, int node, const char* field) {
  auto j = nlohmann::json::parse(t.ctl_output(node, "status --json"), nullptr, false);
  return j.is_discarded() || !j.contains(field) ? 0 : j[field].get<std::size_t>();
}

// A commit large enough to leave the NEW event group while it writes. The kernel gives no
// event extension to an entry created while nobody listens (the default
// nf_conntrack_events=2), and such an entry never reports a change or its end: the committed
// flows must still tell the new active node when they go.
TEST_F(DaemonPair, FlowsCommittedOnPromotionStillReportTheirEnd) {
  PairOptions opts;
  opts.accounting = false;  // no periodic table reads that would hide missing events
  // Any other ctnetlink listener on the host would hide the loss: the kernel counts listeners
  // across namespaces, and the expectation socket counts too.
  opts.sync_expectations = false;
  start(opts);
  ConntrackWriter w1 = writer_in(t_->fw1);
  const auto flows = test::kernel_valid_flows(5000, 27);
  std::vector<WriteResult> r;
  ASSERT_TRUE(w1.upsert(flows, r).ok());
  ASSERT_EQ(wait_equal(*t_, 20s), "");
  // The active node dies (and with it the host's only other listener); the backup takes over.
  t_->d1.kill(SIGKILL);
  ASSERT_EQ(t_->ctl(2, "promote"), 0);
  // promote answers once the kernel holds the flows; the read-back into the internal cache
  // comes after the answer.
  ASSERT_GE(kernel_flows(t_->fw2).size(), flows.size());
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return status_count(*t_, 2, "internal_flows") >= flows.size(); }, 10s));

  // The sessions end on the new active node.
  ConntrackWriter w2 = writer_in(t_->fw2);
  std::vector<FlowKey> gone;
  for (std::size_t i = 0; i < flows.size(); i += 2) gone.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(w2.remove(gone, errors).ok());
  const std::size_t left = flows.size() - gone.size();
  EXPECT_TRUE(
      PairTopology::wait_for([&] { return status_count(*t_, 2, "internal_flows") <= left; }, 10s))
      << "the new active node still holds " << status_count(*t_, 2, "internal_flows") << " flows, "
      << left << " are left in its kernel";
}

TEST(DaemonSystemd, SendsReadyAndWatchdogToTheNotifySocket) {
  PairTopology t;
  const std::string path = t.dir + "/notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  test::set_timeouts(fd, 5000);
  t.start_daemon(1, {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  std::string got;
  char buf[512];
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end && (got.find("READY=1") == std::string::npos ||
                                                    got.find("WATCHDOG=1") == std::string::npos)) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n)).append("|");
  }
  ::close(fd);
  EXPECT_NE(got.find("READY=1"), std::string::npos) << got;
  EXPECT_NE(got.find("WATCHDOG=1"), std::string::npos) << got;
  t.d1.kill(SIGTERM);
}

}  // namespace
}  // namespace ctsync

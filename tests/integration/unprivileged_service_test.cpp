// The packaged service's privileges, tried for real: both daemons of a pair run as a user of
// their own with CAP_NET_ADMIN as their only capability (what the unit's User= and
// AmbientCapabilities= give them), replicate a table, and commit it into the kernel on a
// promotion. The control socket then admits root and members of the service's group, and
// tells anyone else why not. The control: the same daemon without CAP_NET_ADMIN stops at
// start-up with an error that names what it could not do.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "flow_factory.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

// Ids no account on a test machine uses: the service, a stranger, a member of the group.
unsigned service_id() {
  return 1'900'000'000u + static_cast<unsigned>(::getpid() % 100000) * 3;
}

std::string proc_status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

std::size_t kernel_count(const test::Namespace& ns) {
  return std::stoul(ns.output("conntrack -C"));
}

TEST(UnprivilegedService, APairWithOnlyCapNetAdminReplicatesAndCommits) {
  test::PairOptions o;
  o.run_as_id = service_id();
  PairTopology t(o);
  const std::string id = std::to_string(o.run_as_id);
  t.start_daemon(1);
  t.start_daemon(2);

  for (pid_t pid : {t.d1.pid(), t.d2.pid()}) {
    EXPECT_NE(proc_status_line(pid, "Uid").find(id), std::string::npos)
        << proc_status_line(pid, "Uid");
    // CAP_NET_ADMIN is bit 12: effective, permitted and bounding hold it and nothing else.
    for (const char* set : {"CapEff", "CapPrm", "CapBnd"}) {
      EXPECT_EQ(proc_status_line(pid, set), "\t0000000000001000") << set;
    }
  }
  struct stat st {};
  ASSERT_EQ(::stat(t.socket_path(1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u) << "the service's group may use the socket";
  EXPECT_EQ(st.st_uid, o.run_as_id);

  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 10000ms));
  constexpr std::size_t flows = 300;
  {
    ConntrackWriter w = test::writer_in(t.fw1);
    std::vector<WriteResult> r;
    ASSERT_TRUE(w.upsert(test::kernel_valid_flows(flows, 4100, 1), r).ok());
  }
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) >= flows; }, 10000ms))
      << t.d2.log();

  // The takeover: the backup writes the copy into its kernel through ctnetlink.
  const std::size_t before = kernel_count(t.fw2);
  ASSERT_EQ(t.ctl(1, "demote"), 0);
  ASSERT_EQ(t.ctl(2, "promote"), 0) << t.d2.log();
  EXPECT_GE(kernel_count(t.fw2), before + flows) << t.d2.log();

  // Who may talk to the socket: the filesystem lets only the owner and the group in; with the
  // socket opened to everyone, the daemon's own check still admits only root and the group.
  t.fw1.must("chmod 0755 " + t.dir + " && chmod 0666 " + t.socket_path(1));
  const std::string stranger = std::to_string(o.run_as_id + 1);
  const std::string member = std::to_string(o.run_as_id + 2);
  auto ctl_as = [&](const std::string& uid, const std::string& groups) {
    return t.fw1.output("setpriv --reuid=" + uid + " --regid=" + uid + " " + groups + " " +
                        CTSYNCCTL_PATH + " -s " + t.socket_path(1) + " status 2>&1; echo exit=$?");
  };
  const std::string refused = ctl_as(stranger, "--clear-groups");
  EXPECT_NE(refused.find("permission denied: the control socket is for root and members of "
                         "group " +
                         id),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.find("exit=4"), std::string::npos) << refused;
  const std::string admitted = ctl_as(member, "--groups=" + id);
  EXPECT_NE(admitted.find("exit=0"), std::string::npos) << admitted;
  EXPECT_EQ(admitted.find("permission denied"), std::string::npos) << admitted;
}

TEST(UnprivilegedService, WithoutCapNetAdminTheDaemonStopsAndSaysWhy) {
  test::PairOptions o;
  o.run_as_id = service_id();
  PairTopology t(o);
  t.write_config(1);
  const std::string id = std::to_string(o.run_as_id);
  const std::string out = t.fw1.output(
      "setpriv --reuid=" + id + " --regid=" + id +
      " --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs timeout 20 " +
      CTSYNCD_PATH + " -c " + t.config_path(1) + " 2>&1; echo exit=$?");
  EXPECT_EQ(out.find("exit=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("exit=124"), std::string::npos) << "it must not run without the capability";
  EXPECT_NE(out.find("CAP_NET_ADMIN"), std::string::npos) << out;
}

}  // namespace
}  // namespace ctsync

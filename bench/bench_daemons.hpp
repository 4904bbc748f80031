#pragma once
// The two daemons as the benchmarks drive them (start, promote, what the backup holds, a
// failover as each one's keepalived hook does it), and the host helpers they share.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pair_topology.hpp"

namespace ctsync::bench {

using namespace std::chrono_literals;
using test::PairTopology;
using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Read from inside the namespace (the /proc/sys/net files are the opener's namespace's),
// without starting a process: polling must not steal CPU from the daemons it measures.
inline std::size_t kernel_count(const test::Namespace& ns) {
  test::EnterNamespace in(ns);
  std::size_t n = 0;
  std::ifstream("/proc/sys/net/netfilter/nf_conntrack_count") >> n;
  return n;
}

// CTSYNC_BENCH_PROFILE=DIR records one phase with perf into DIR/NAME.data: one process, or
// the whole host when `pid` is 0. CTSYNC_BENCH_EVENT picks another event than cpu-clock
// (sched:sched_switch, say, to see why a daemon sleeps); CTSYNC_BENCH_PROFILE_HOST=1 records
// the whole host instead of the process (sched:sched_wakeup: who wakes it).
inline void profile(test::ChildProcess& perf, pid_t pid, const std::string& name) {
  const char* dir = std::getenv("CTSYNC_BENCH_PROFILE");
  if (dir == nullptr) return;
  const char* event = std::getenv("CTSYNC_BENCH_EVENT");
  if (std::getenv("CTSYNC_BENCH_PROFILE_HOST") != nullptr) pid = 0;  // who wakes whom
  std::vector<std::string> argv = {"perf", "record", "-g", "-e", event ? event : "cpu-clock"};
  if (event == nullptr) argv.insert(argv.end(), {"-F", "999"});
  if (pid != 0) {
    argv.insert(argv.end(), {"-p", std::to_string(pid)});
  } else {
    argv.push_back("-a");
  }
  argv.insert(argv.end(), {"-o", std::string(dir) + "/" + name + ".data"});
  perf.start(argv, std::string(dir) + "/" + name + ".log");
  std::this_thread::sleep_for(300ms);
}

// ---- the two daemons ----

class Daemon {
 public:
  virtual ~Daemon() = default;
  virtual std::string name() const = 0;
  virtual void start(PairTopology& t, int node) = 0;
  virtual void stop(PairTopology& t, int node) = 0;
  virtual void make_active(PairTopology& t, int node) = 0;
  virtual std::size_t peer_holds(PairTopology& t, int node) = 0;
  // Commits the external cache; returns the write's duration as the daemon reports it, or 0.
  virtual double commit(PairTopology& t, int node) = 0;
  virtual void after_restart(PairTopology& t, int node) = 0;
  virtual void fail_over(PairTopology& t, int from, int to) = 0;
  virtual std::uint64_t overruns(PairTopology& t, int node) = 0;
  virtual pid_t pid(PairTopology& t, int node) = 0;
  bool direct = false;
};

class Ctsyncd : public Daemon {
 public:
  std::string name() const override { return "ctsyncd"; }
  // CTSYNC_BENCH_CTSYNCD=PATH runs another build of ctsyncd (the "before" of an A/B).
  void start(PairTopology& t, int node) override {
    if (const char* other = std::getenv("CTSYNC_BENCH_CTSYNCD")) t.set_binary(node, other);
    t.start_daemon(node);
  }
  void stop(PairTopology& t, int node) override { (node == 1 ? t.d1 : t.d2).kill(SIGTERM); }
  void make_active(PairTopology& t, int node) override { t.ctl(node, "promote"); }
  std::size_t peer_holds(PairTopology& t, int node) override {
    // The control socket is a file: no need to enter the namespace (ip netns exec costs
    // several milliseconds, which the polling would add to what it measures).
    const std::string out = test::sh_output(std::string(CTSYNCCTL_PATH) + " -s " +
                                            t.socket_path(node) + " status --json 2>&1");
    auto j = nlohmann::json::parse(out, nullptr, false);
    return j.is_discarded() || !j.contains("external_flows")
               ? 0
               : j["external_flows"].get<std::size_t>();
  }
  double commit(PairTopology& t, int node) override {
    // "commit 200000 flows in 512 ms: ..."
    const std::string out = t.ctl_output(node, "commit");
    const auto in = out.find(" flows in ");
    return in == std::string::npos ? 0 : std::stod(out.substr(in + 10)) / 1000.0;
  }
  void after_restart(PairTopology&, int) override {}  // a restarted node asks by itself
  void fail_over(PairTopology& t, int from, int to) override {
    t.ctl(to, "promote");
    t.ctl(from, "demote");
  }
  std::uint64_t overruns(PairTopology& t, int node) override {
    auto j = nlohmann::json::parse(t.ctl_output(node, "stats --json"), nullptr, false);
    return j.is_discarded() ? 0 : j["kernel"]["overruns"].get<std::uint64_t>();
  }
  pid_t pid(PairTopology& t, int node) override { return (node == 1 ? t.d1 : t.d2).pid(); }
};

// conntrackd as its documentation recommends for a primary/backup pair: FTFW over multicast,
// external cache (direct: DisableExternalCache), the example's buffers, the protocols we use.
class Conntrackd : public Daemon {
 public:
  std::string name() const override { return "conntrackd"; }
  std::string conf(PairTopology& t, int node) const {
    return t.dir + "/conntrackd" + std::to_string(node) + ".conf";
  }
  void start(PairTopology& t, int node) override {
    const std::string me = "10.10.3." + std::to_string(node + 1);
    std::ofstream(conf(t, node))
        << "Sync {\n\tMode FTFW {\n"
        << (direct ? "\t\tDisableExternalCache On\n" : "")
        << "\t}\n\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t\tGroup 3780\n"
        << "\t\tIPv4_interface " << me << "\n\t\tInterface sync\n"
        << "\t\tSndSocketBuffer 1249280\n\t\tRcvSocketBuffer 1249280\n\t\tChecksum on\n\t}\n}\n"
        << "General {\n\tHashSize 32768\n\tHashLimit 4194304\n\tLogFile " << t.dir << "/conntrackd"
        << node << ".log\n\tLockFile " << t.dir << "/conntrackd" << node << ".lock\n"
        << "\tUNIX {\n\t\tPath " << t.dir << "/conntrackd" << node << ".ctl\n\t}\n"
        << "\tNetlinkBufferSize 2097152\n\tNetlinkBufferSizeMaxGrowth 8388608\n"
        << "\tFilter From Userspace {\n\t\tProtocol Accept {\n\t\t\tTCP\n\t\t\tUDP\n\t\t\tICMP\n"
        << "\t\t\tIPv6-ICMP\n\t\t}\n\t\tAddress Ignore {\n\t\t\tIPv4_address 127.0.0.1\n"
        << "\t\t\tIPv4_address " << me << "\n\t\t\tIPv4_address 10.10.1." << node + 1
        << "\n\t\t\tIPv4_address 10.10.2." << node + 1 << "\n\t\t}\n\t}\n}\n";
    auto& p = node == 1 ? t.d1 : t.d2;
    std::remove((t.dir + "/conntrackd" + std::to_string(node) + ".lock").c_str());
    p.start({"ip", "netns", "exec", (node == 1 ? t.fw1 : t.fw2).name(), "conntrackd", "-C",
             conf(t, node)},
            t.dir + "/conntrackd" + std::to_string(node) + ".out");
    PairTopology::wait_for(
        [&] { return ctl(t, node, "-s runtime").find("daemon uptime") != std::string::npos; },
        10000ms);
  }
  std::string ctl(PairTopology& t, int node, const std::string& args) const {
    return (node == 1 ? t.fw1 : t.fw2)
        .output("conntrackd -C " + conf(t, node) + " " + args + " 2>&1");
  }
  void stop(PairTopology& t, int node) override { (node == 1 ? t.d1 : t.d2).kill(SIGTERM); }
  void make_active(PairTopology&, int) override {}  // conntrackd replicates on every node
  std::size_t peer_holds(PairTopology& t, int node) override {
    if (direct) return kernel_count(node == 1 ? t.fw1 : t.fw2);
    // Its UNIX socket is a file too: the client runs from here, as for ctsyncd.
    const std::string out = test::sh_output("conntrackd -C " + conf(t, node) + " -s cache 2>&1");
    const auto at = out.find("cache:external");
    if (at == std::string::npos) return 0;
    const auto colon = out.find("active objects:", at);
    return std::stoul(out.substr(colon + 15));
  }

  double commit(PairTopology& t, int node) override {
    ctl(t, node, "-c");
    return 0;
  }
  void after_restart(PairTopology& t, int node) override { ctl(t, node, "-n"); }
  void fail_over(PairTopology& t, int from, int to) override {
    // keepalived's primary-backup.sh: commit, flush, resync with the kernel, send a bulk.
    ctl(t, to, "-c");
    ctl(t, to, "-f");
    ctl(t, to, "-R");
    ctl(t, to, "-B");
    ctl(t, from, "-t");
    ctl(t, from, "-n");
  }
  std::uint64_t overruns(PairTopology& t, int node) override {
    const std::string out = ctl(t, node, "-s runtime");
    const auto at = out.find("netlink overrun:");
    return at == std::string::npos ? 0 : std::stoull(out.substr(at + 16));
  }
  pid_t pid(PairTopology& t, int node) override { return (node == 1 ? t.d1 : t.d2).pid(); }
};

// nf_conntrack_max is one value for the whole host, set from the initial namespace: raised
// for tables beyond it, put back when the run ends.
class ConntrackMaxRaise {
 public:
  explicit ConntrackMaxRaise(std::size_t needed) {
    std::ifstream("/proc/sys/net/netfilter/nf_conntrack_max") >> saved_;
    if (needed > saved_) write(needed);
  }
  ~ConntrackMaxRaise() { write(saved_); }

 private:
  static void write(std::size_t v) {
    std::ofstream("/proc/sys/net/netfilter/nf_conntrack_max") << v;
  }
  std::size_t saved_ = 0;
};

// The table sizes of a run (the arguments, or `defaults`) and its repetitions
// (CTSYNC_BENCH_REPS, 3 by default).
inline std::vector<std::size_t> sizes_from(int argc, char** argv,
                                           std::vector<std::size_t> defaults) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoul(argv[i]));
  return sizes.empty() ? defaults : sizes;
}
inline int repetitions() {
  return std::getenv("CTSYNC_BENCH_REPS") ? std::atoi(std::getenv("CTSYNC_BENCH_REPS")) : 3;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace ctsync::bench

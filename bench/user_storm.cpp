// An event storm as a user measured it (issue: "keep pace with the kernel as a user measures
// it"), beside sync_compare's own: two firewalls with LAN, WAN and sync bridges in a switch
// namespace, nftables rulesets with named counters, the daemons in their default
// configuration (log level info, default heartbeats; IPv4 multicast on the sync link), and
// the active node's table filled with M IPv4 TCP entries (ESTABLISHED, ASSURED, 600 s, one
// source port each) written with batches of 256 messages. The backup's copy is polled two
// ways: as the user did (`ip netns exec FW ctsyncctl status --json` every 20 ms, each poll a
// process in the namespace) and finely (the control socket from here, every 2 ms).
// Reported per daemon, median of CTSYNC_BENCH_REPS (3): the write rate, the copy's completion
// after the writes ended by each poll, CPU seconds and us per event of each node from the
// start of the writes to the copy being complete, and netlink overruns.
// Usage: user_storm [M...]   (default 50000 200000 1000000; CTSYNC_BENCH_ONLY=ctsyncd|conntrackd;
// CTSYNC_BENCH_PROFILE=DIR records the active daemon with perf, as in sync_compare;
// CTSYNC_BENCH_FLOWS=ipv6|snat for IPv6 flows, or IPv4 flows with source NAT, instead)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_daemons.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"

namespace {

using namespace ctsync;
using namespace ctsync::bench;
using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;

enum class Kind { ipv4, ipv6, snat };

std::vector<Flow> user_flows(std::size_t n, Kind kind) {
  std::vector<Flow> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    Flow f;
    Tuple& o = f.key.original;
    o.family = kind == Kind::ipv6 ? Family::ipv6 : Family::ipv4;
    o.protocol = proto::tcp;
    // One source port each, 60 000 per source address, from 100.64.0.0/10 (fd64::/64).
    const auto hi = static_cast<std::uint8_t>(i / 60000 / 256),
               lo = static_cast<std::uint8_t>(i / 60000 % 256);
    if (kind == Kind::ipv6) {
      o.src.bytes = {0xfd, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hi, lo, 1};
      o.dst.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    } else {
      o.src = IpAddress::v4(100, static_cast<std::uint8_t>(64 + hi), lo, 1);
      o.dst = IpAddress::v4(198, 51, 100, 10);
    }
    o.src_port = static_cast<std::uint16_t>(1024 + i % 60000);
    o.dst_port = 443;
    f.reply = invert(o);
    f.status = status::seen_reply | status::assured;
    if (kind == Kind::snat) {
      // Masqueraded behind a pool of public addresses, each port once per address.
      f.reply.dst = IpAddress::v4(203, 0, static_cast<std::uint8_t>(113 + hi), lo);
      f.reply.dst_port = static_cast<std::uint16_t>(1024 + (i * 7) % 60000);
      f.status |= status::src_nat | status::src_nat_done;
    }
    f.timeout = 600;
    f.tcp.state = TcpState::established;
    f.tcp.flags_original = f.tcp.flags_reply = 0x03;
    f.tcp.wscale_original = f.tcp.wscale_reply = 7;
    out.push_back(f);
  }
  return out;
}

// The user's poll: a process in the backup's namespace, as `ip netns exec` starts it.
std::size_t held_as_the_user_polls(Daemon& d, PairTopology& t) {
  if (d.name() != "ctsyncd") {
    const std::string out =
        t.fw2.output("conntrackd -C " + t.dir + "/conntrackd2.conf -s cache 2>&1");
    const auto at = out.find("cache:external");
    if (at == std::string::npos) return 0;
    return std::stoul(out.substr(out.find("active objects:", at) + 15));
  }
  auto j = nlohmann::json::parse(
      t.fw2.output(std::string(CTSYNCCTL_PATH) + " -s " + t.socket_path(2) + " status --json"),
      nullptr, false);
  return j.is_discarded() ? 0 : j.value("external_flows", std::size_t{0});
}

struct Sample {
  double write_rate = 0;        // flows/s accepted by the kernel
  double after_end_fine_s = 0;  // copy complete after the writes ended, 2 ms polling
  double after_end_user_s = 0;  // ... by the user's polling
  double cpu_active = 0, cpu_backup = 0, us_active = 0, us_backup = 0;
  double overruns = 0;
  // The active daemon's context switches per 1000 events: it went to sleep (voluntary: a
  // wake-up each), or was preempted.
  double wakeups_per_1000 = 0, preempted_per_1000 = 0;
  // (peak RSS after the storm - RSS before it) / M: the internal cache on the active node,
  // the external cache (with the takeover hold's reply index) on the backup.
  double rss_per_flow_active = 0, rss_per_flow_backup = 0;
};

double status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size()));
  }
  return 0;
}

// Context switches of every thread of `pid` whose /proc status line starts with `key`.
double context_switches(pid_t pid, const std::string& key) {
  double n = 0;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(task)) {
    std::ifstream in(t.path() / "status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(key, 0) == 0) n += std::stod(line.substr(key.size()));
    }
  }
  return n;
}

Sample run(Daemon& d, const std::vector<Flow>& flows) {
  std::this_thread::sleep_for(2s);  // the previous run's namespaces go in the background
  PairOptions o;
  o.accounting = false;
  o.default_tuning = true;
  PairTopology t(o);
  d.start(t, 1);
  d.start(t, 2);
  d.make_active(t, 1);
  std::this_thread::sleep_for(1500ms);
  const std::size_t m = flows.size();
  Sample s;
  const double cpu1 = cpu_seconds(d.pid(t, 1)), cpu2 = cpu_seconds(d.pid(t, 2));
  const double rss1 = status_kb(d.pid(t, 1), "VmRSS:"), rss2 = status_kb(d.pid(t, 2), "VmRSS:");
  const double voluntary1 = context_switches(d.pid(t, 1), "voluntary_ctxt_switches:");
  const double preempted1 = context_switches(d.pid(t, 1), "nonvoluntary_ctxt_switches:");

  // The user's poller runs through the whole load, in its own thread, as their script did.
  std::atomic<bool> writing_done{false};
  std::atomic<double> user_done_at{-1};
  SteadyClock::time_point end_of_writes;
  std::thread poller([&] {
    const auto give_up = SteadyClock::now() + 120s;
    while (SteadyClock::now() < give_up) {
      const bool after = writing_done.load();
      if (held_as_the_user_polls(d, t) >= m && after) {
        user_done_at = seconds_since(end_of_writes);
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  test::ChildProcess perf;
  profile(perf, d.pid(t, 1), "user-storm-" + std::to_string(m) + "-" + d.name());
  const auto t0 = SteadyClock::now();
  {
    WriterConfig wc;
    wc.batch_messages = 256;
    auto w = [&] {
      test::EnterNamespace in(t.fw1);
      return std::move(*ConntrackWriter::open(wc));
    }();
    std::vector<WriteResult> r;
    (void)w.upsert(flows, r);
  }
  end_of_writes = SteadyClock::now();
  writing_done = true;
  s.write_rate = static_cast<double>(m) / std::chrono::duration<double>(end_of_writes - t0).count();
  PairTopology::wait_for([&] { return d.peer_holds(t, 2) >= m; }, 120000ms, 2ms);
  s.after_end_fine_s = seconds_since(end_of_writes);
  s.cpu_active = cpu_seconds(d.pid(t, 1)) - cpu1;
  s.cpu_backup = cpu_seconds(d.pid(t, 2)) - cpu2;
  s.wakeups_per_1000 = (context_switches(d.pid(t, 1), "voluntary_ctxt_switches:") - voluntary1) *
                       1000 / static_cast<double>(m);
  s.preempted_per_1000 =
      (context_switches(d.pid(t, 1), "nonvoluntary_ctxt_switches:") - preempted1) * 1000 /
      static_cast<double>(m);
  perf.kill(SIGINT);
  poller.join();
  s.after_end_user_s = user_done_at;
  s.us_active = s.cpu_active / static_cast<double>(m) * 1e6;
  s.us_backup = s.cpu_backup / static_cast<double>(m) * 1e6;
  s.overruns = static_cast<double>(d.overruns(t, 1));
  s.rss_per_flow_active = (status_kb(d.pid(t, 1), "VmHWM:") - rss1) * 1024 / static_cast<double>(m);
  s.rss_per_flow_backup = (status_kb(d.pid(t, 2), "VmHWM:") - rss2) * 1024 / static_cast<double>(m);
  d.stop(t, 1);
  d.stop(t, 2);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::size_t> sizes = sizes_from(argc, argv, {50000, 200000, 1000000});
  const int reps = repetitions();
  const std::string only = std::getenv("CTSYNC_BENCH_ONLY") ? std::getenv("CTSYNC_BENCH_ONLY") : "";
  Ctsyncd ours;
  Conntrackd theirs;
  const ConntrackMaxRaise raise(*std::max_element(sizes.begin(), sizes.end()) * 5 / 4 + 1000);
  const std::string kind_name =
      std::getenv("CTSYNC_BENCH_FLOWS") ? std::getenv("CTSYNC_BENCH_FLOWS") : "ipv4";
  const Kind kind = kind_name == "ipv6"   ? Kind::ipv6
                    : kind_name == "snat" ? Kind::snat
                                          : Kind::ipv4;
  for (std::size_t m : sizes) {
    const auto flows = user_flows(m, kind);
    std::map<std::string, std::vector<Sample>> runs;
    for (int r = 0; r < reps; ++r) {
      for (Daemon* d : std::vector<Daemon*>{&ours, &theirs}) {
        if (only.empty() || only == d->name()) runs[d->name()].push_back(run(*d, flows));
      }
    }
    auto med = [&](const std::string& who, double Sample::*field) {
      std::vector<double> v;
      for (const auto& s : runs[who]) v.push_back(s.*field);
      return median(v);
    };
    std::printf(
        "\n### The user's storm, M = %zu (%s TCP, batches of 256, default configuration; "
        "median of %d)\n\n| measure | ctsyncd | conntrackd | ratio |\n|---|---|---|---|\n",
        m,
        kind == Kind::ipv6   ? "IPv6"
        : kind == Kind::snat ? "IPv4 SNAT"
                             : "IPv4",
        reps);
    auto row = [&](const char* what, double Sample::*field, int decimals) {
      const double a = med("ctsyncd", field), b = med("conntrackd", field);
      if (b > 0) {
        std::printf("| %s | %.*f | %.*f | %.2f |\n", what, decimals, a, decimals, b, a / b);
      } else {
        std::printf("| %s | %.*f | %.*f | - |\n", what, decimals, a, decimals, b);
      }
    };
    row("kernel accepted the writes at (flows/s)", &Sample::write_rate, 0);
    row("copy complete after the writes ended, 2 ms polling (s)", &Sample::after_end_fine_s, 3);
    row("... by the user's polling (ip netns exec, 20 ms) (s)", &Sample::after_end_user_s, 2);
    row("CPU s, active node (writes start to copy complete)", &Sample::cpu_active, 2);
    row("CPU s, backup node", &Sample::cpu_backup, 2);
    row("CPU us per event, active", &Sample::us_active, 2);
    row("CPU us per event, backup", &Sample::us_backup, 2);
    row("netlink overruns (active)", &Sample::overruns, 0);
    row("wake-ups of the active daemon per 1000 events", &Sample::wakeups_per_1000, 1);
    row("... preemptions per 1000 events", &Sample::preempted_per_1000, 1);
    row("peak RSS growth per flow, active (bytes)", &Sample::rss_per_flow_active, 0);
    row("peak RSS growth per flow, backup (bytes)", &Sample::rss_per_flow_backup, 0);
    std::fflush(stdout);
  }
  return 0;
}

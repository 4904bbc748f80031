// ctsyncd and conntrackd side by side, on the same namespaces and the same flows, in one run.
// For each table size M and flow source (conntrack -R: a steady load; ctsyncd's batched
// writer: an event storm), each daemon, three repetitions: time until the backup holds all M,
// flows missing, CPU seconds of each daemon, peak RSS, netlink overruns, bytes on the sync
// link per flow, bulk resync time after the backup restarts empty, then commit time of M
// flows into the backup's kernel once the active node's daemon has failed, and the kernel's
// ceiling in the same namespace. Then failover recovery with live TCP sessions, both cache
// modes.
// Prints Markdown tables with medians and the ratio ctsyncd / conntrackd.
// Usage: sync_compare [M...]   (default 10000 50000 200000; CTSYNC_BENCH_REPS=3; see
// bench/run.sh, and profile() below for CTSYNC_BENCH_PROFILE)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_daemons.hpp"
#include "bench_flows.hpp"
#include "kernel/conntrack_events.hpp"
#include "kernel_writer.hpp"
#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace {

using namespace ctsync;
using namespace ctsync::bench;
using namespace std::chrono_literals;
using test::PairOptions;
using test::PairTopology;
using SteadyClock = std::chrono::steady_clock;

double status_mb(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::string(key).size())) / 1024.0;
  }
  return 0;
}

std::uint64_t tx_bytes(const test::Namespace& ns) {
  return std::stoull(ns.output("cat /sys/class/net/sync/statistics/tx_bytes"));
}

using test::writer_in;

// ---- one measured run ----

struct Sample {
  double hold_s = 0, lag_after_load_s = 0;
  double missing = 0;
  double cpu_active = 0, cpu_backup = 0, cpu_us_active = 0, cpu_us_backup = 0;
  double rss_active = 0, rss_backup = 0, rss_backup_per_flow_b = 0;
  double overruns = 0;
  double commit_s = 0, commit_reported_s = 0, ceiling_s = 0, commit_vs_ceiling_pct = 0,
         resync_s = 0, resync_start_s = 0;
  double bytes_per_flow = 0;
};

PairOptions bench_options() {
  PairOptions o;
  o.accounting = false;  // the kernel default; ctsyncd's periodic accounting dumps stay off
  return o;
}

Sample replicate(Daemon& d, const std::vector<Flow>& flows, const std::string& source,
                 const std::string& file) {
  // The kernel frees the previous run's namespaces, and their entries, in the background.
  std::this_thread::sleep_for(2s);
  PairTopology t(bench_options());
  d.start(t, 1);
  d.start(t, 2);
  d.make_active(t, 1);
  std::this_thread::sleep_for(1s);
  const double rss2_before = status_mb(d.pid(t, 2), "VmRSS:");
  const double cpu1 = cpu_seconds(d.pid(t, 1)), cpu2 = cpu_seconds(d.pid(t, 2));
  const auto tx1 = tx_bytes(t.fw1), tx2 = tx_bytes(t.fw2);
  const std::size_t m = flows.size();
  Sample s;

  test::ChildProcess perf0;
  profile(perf0, d.pid(t, 1), "load-" + source + "-" + d.name());
  const auto t0 = SteadyClock::now();
  if (source == "restore") {
    t.fw1.must("conntrack -R " + file + " >/dev/null 2>&1");
  } else {
    auto w = writer_in(t.fw1);
    std::vector<WriteResult> r;
    (void)w.upsert(flows, r);
  }
  const auto loaded = SteadyClock::now();
  std::size_t held = 0;
  PairTopology::wait_for([&] { return (held = d.peer_holds(t, 2)) >= m; }, 120000ms);
  s.hold_s = seconds_since(t0);
  s.lag_after_load_s = seconds_since(loaded);
  s.missing = static_cast<double>(m - std::min(m, held));
  perf0.kill(SIGINT);
  std::this_thread::sleep_for(500ms);
  s.cpu_active = cpu_seconds(d.pid(t, 1)) - cpu1;
  s.cpu_backup = cpu_seconds(d.pid(t, 2)) - cpu2;
  s.cpu_us_active = s.cpu_active / static_cast<double>(m) * 1e6;
  s.cpu_us_backup = s.cpu_backup / static_cast<double>(m) * 1e6;
  s.rss_active = status_mb(d.pid(t, 1), "VmHWM:");
  s.rss_backup = status_mb(d.pid(t, 2), "VmHWM:");
  s.rss_backup_per_flow_b =
      (status_mb(d.pid(t, 2), "VmRSS:") - rss2_before) * 1024 * 1024 / static_cast<double>(m);
  s.bytes_per_flow = static_cast<double>((tx_bytes(t.fw1) - tx1) + (tx_bytes(t.fw2) - tx2)) /
                     static_cast<double>(m);
  s.overruns = static_cast<double>(d.overruns(t, 1));

  // The backup restarts with nothing: time until it holds the whole table again. Its copy is
  // what the commit below writes.
  d.stop(t, 2);
  test::ChildProcess perf1;
  profile(perf1, 0, "resync-" + d.name());  // the whole host: both daemons and the kernel
  const auto r0 = SteadyClock::now();
  d.start(t, 2);
  s.resync_start_s = seconds_since(r0);
  d.after_restart(t, 2);
  // Polled every 5 ms (the load phase's 20 ms would be a sixth of the result here).
  PairTopology::wait_for([&] { return d.peer_holds(t, 2) >= m; }, 120000ms, 5ms);
  s.resync_s = seconds_since(r0);
  perf1.kill(SIGINT);

  // The active node fails. Its daemon goes, and with it the host's other ctnetlink listener:
  // the kernel builds an event for every new entry when any socket on the host, in any
  // namespace, is in the NEW group, so the commit below runs as it would on two real hosts.
  d.stop(t, 1);

  // Commit the backup's copy into its kernel.
  // Until the kernel holds them (the command may return later, after reading the table back).
  const std::size_t base = kernel_count(t.fw2);
  const auto c0 = SteadyClock::now();
  test::ChildProcess perf;
  profile(perf, d.pid(t, 2), "commit-" + d.name());
  std::thread commit([&] { s.commit_reported_s = d.commit(t, 2); });
  PairTopology::wait_for([&] { return kernel_count(t.fw2) >= base + m * 99 / 100; }, 120000ms);
  s.commit_s = seconds_since(c0);
  commit.join();
  perf.kill(SIGINT);

  // The kernel's own ceiling under the same conditions: the same flows written into the same
  // namespace in plain batches by this process, with a listener on UPDATE and DESTROY only
  // (what a sync daemon must keep during a commit, so that the entries report their end) and
  // no other listener on the host.
  d.stop(t, 2);
  t.fw2.run("conntrack -F >/dev/null 2>&1");
  {
    auto listener = [&] {
      test::EnterNamespace in(t.fw2);
      return std::move(*ConntrackEvents::open({}));
    }();
    (void)listener.pause();
    auto w = writer_in(t.fw2);
    std::vector<WriteResult> r;
    test::ChildProcess perf2;
    profile(perf2, 0, "ceiling-" + d.name());
    const auto k0 = SteadyClock::now();
    (void)w.upsert(flows, r);
    s.ceiling_s = seconds_since(k0);
    perf2.kill(SIGINT);
    s.commit_vs_ceiling_pct = s.commit_s > 0 ? 100 * s.ceiling_s / s.commit_s : 0;
  }
  t.fw2.run("conntrack -F >/dev/null 2>&1");
  return s;
}

void print_row(const char* what, double a, double b, int decimals) {
  if (b > 0) {
    std::printf("| %s | %.*f | %.*f | %.2f |\n", what, decimals, a, decimals, b, a / b);
  } else {
    std::printf("| %s | %.*f | %.*f | - |\n", what, decimals, a, decimals, b);
  }
}

// Failover recovery: K live TCP sessions; from the moment the new node holds the addresses
// until every session has completed a round trip.
double recovery(Daemon& d, std::size_t k) {
  PairOptions o = bench_options();
  o.snat = true;
  o.cache_mode = d.direct ? "direct" : "external";
  PairTopology t(o);
  t.add_virtual_addresses(t.fw1);
  d.start(t, 1);
  d.start(t, 2);
  d.make_active(t, 1);
  test::SessionPool pool(t.client, t.server);
  pool.open_tcp(k / 2, "10.10.2.20", 5001);
  pool.open_tcp(k - k / 2, "fd10:2::20", 5002);
  for (int i = 0; i < 10; ++i) {  // live traffic, a round trip every 50 ms
    pool.tcp_round_trips(SteadyClock::now(), 2s);
    std::this_thread::sleep_for(50ms);
  }
  if (d.direct) {
    PairTopology::wait_for([&] { return kernel_count(t.fw2) >= k; }, 10000ms);
  } else {
    PairTopology::wait_for([&] { return d.peer_holds(t, 2) >= k; }, 10000ms);
  }
  t.move_virtual_addresses(t.fw1, t.fw2);
  const auto held = SteadyClock::now();
  std::thread roles([&] { d.fail_over(t, 1, 2); });
  const auto rep = pool.tcp_round_trips(held, 10s);
  roles.join();
  return rep.passed() == pool.tcp_count() ? rep.worst() : 99.0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::size_t> sizes = sizes_from(argc, argv, {10000, 50000, 200000});
  const int reps = repetitions();
  Ctsyncd ours;
  Conntrackd theirs;
  const ConntrackMaxRaise raise(*std::max_element(sizes.begin(), sizes.end()) * 5 / 4 + 1000);

  // CTSYNC_BENCH_ONLY=ctsyncd|conntrackd and CTSYNC_BENCH_SOURCE=restore|storm narrow a run
  // down while profiling.
  const std::string only = std::getenv("CTSYNC_BENCH_ONLY") ? std::getenv("CTSYNC_BENCH_ONLY") : "";
  const std::string only_source =
      std::getenv("CTSYNC_BENCH_SOURCE") ? std::getenv("CTSYNC_BENCH_SOURCE") : "";
  for (const char* source : {"restore", "storm"}) {
    if (!only_source.empty() && only_source != source) continue;
    for (std::size_t m : sizes) {
      const auto flows = bench::flows(m, 11);
      const std::string file = "/tmp/sync-compare-" + std::to_string(::getpid()) + ".txt";
      bench::write_restore_file(flows, file);
      std::map<std::string, std::vector<Sample>> runs;
      for (int r = 0; r < reps; ++r) {
        for (Daemon* d : std::vector<Daemon*>{&ours, &theirs}) {
          if (only.empty() || only == d->name())
            runs[d->name()].push_back(replicate(*d, flows, source, file));
        }
      }
      std::remove(file.c_str());
      auto med = [&](const std::string& who, double Sample::*field) {
        std::vector<double> v;
        for (const auto& s : runs[who]) v.push_back(s.*field);
        return median(v);
      };
      std::printf("\n### %s, M = %zu (%s; median of %d)\n\n",
                  source == std::string("restore") ? "steady load" : "event storm", m,
                  source == std::string("restore") ? "conntrack -R" : "ctsyncd's batched writer",
                  reps);
      std::printf("| measure | ctsyncd | conntrackd | ratio |\n|---|---|---|---|\n");
      auto row = [&](const char* what, double Sample::*field, int decimals) {
        print_row(what, med("ctsyncd", field), med("conntrackd", field), decimals);
      };
      row("backup holds all M after (s)", &Sample::hold_s, 2);
      row("... after the load ended (s)", &Sample::lag_after_load_s, 2);
      row("flows missing at the end", &Sample::missing, 0);
      row("CPU s, active node", &Sample::cpu_active, 2);
      row("CPU s, backup node", &Sample::cpu_backup, 2);
      row("CPU us per flow, active", &Sample::cpu_us_active, 2);
      row("CPU us per flow, backup", &Sample::cpu_us_backup, 2);
      row("peak RSS MB, active", &Sample::rss_active, 1);
      row("peak RSS MB, backup", &Sample::rss_backup, 1);
      row("backup RSS growth, bytes per flow", &Sample::rss_backup_per_flow_b, 0);
      row("netlink overruns (active)", &Sample::overruns, 0);
      row("commit of M into the backup's kernel (s)", &Sample::commit_s, 3);
      row("... the write, as the daemon reports it (s)", &Sample::commit_reported_s, 3);
      row("kernel ceiling: M in plain batches, UPDATE+DESTROY listener (s)", &Sample::ceiling_s, 3);
      row("commit speed, % of that ceiling", &Sample::commit_vs_ceiling_pct, 0);
      row("bulk resync to an empty backup (s)", &Sample::resync_s, 2);
      row("... of which starting the daemon (s)", &Sample::resync_start_s, 2);
      row("sync bytes per flow", &Sample::bytes_per_flow, 1);
      std::fflush(stdout);
    }
  }

  if (!only.empty() || !only_source.empty()) return 0;
  std::printf("\n### Failover recovery, 50 live TCP sessions (median of %d)\n\n", reps);
  std::printf("| cache mode | ctsyncd (s) | conntrackd (s) | ratio |\n|---|---|---|---|\n");
  for (bool direct : {false, true}) {
    ours.direct = theirs.direct = direct;
    std::vector<double> a, b;
    for (int r = 0; r < reps; ++r) {
      a.push_back(recovery(ours, 50));
      b.push_back(recovery(theirs, 50));
    }
    print_row(direct ? "direct" : "external", median(a), median(b), 3);
  }
  return 0;
}

// The two-node demo behind the README's first command: builds a firewall pair in network
// namespaces, runs ctsyncd and keepalived on both, opens live IPv4 and IPv6 sessions, fails
// over and back (a clean switchover, then a crash), and narrates what happens. Exits non-zero
// if a single session is lost. With `--nodes 3`, the same story on three firewalls: two
// crashes in a row, then failback by priority.
#include <signal.h>

#include <cstdio>
#include <string>

#include "pair_topology.hpp"
#include "session_pool.hpp"

namespace {

using namespace std::chrono_literals;
using ctsync::test::PairOptions;
using ctsync::test::PairTopology;
using ctsync::test::SessionPool;

int lost = 0;

void say(const std::string& s) {
  std::printf("\n== %s\n", s.c_str());
  std::fflush(stdout);
}
void note(const std::string& s) {
  std::printf("   %s\n", s.c_str());
  std::fflush(stdout);
}

void indent(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    std::printf("     | %s\n", text.substr(start, end - start).c_str());
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

bool wait_holder(PairTopology& t, const ctsync::test::Namespace& fw, const char* name) {
  if (!PairTopology::wait_for([&] { return t.holds_virtual_addresses(fw); }, 15000ms)) {
    note(std::string(name) + " never took the virtual addresses");
    return false;
  }
  note(std::string(name) + " now holds 10.10.1.1, 10.10.2.1, fd10:1::1 and fd10:2::1");
  return true;
}

void check(SessionPool& pool, const char* when) {
  const auto t0 = ctsync::test::SteadyClock::now();
  const auto tcp = pool.tcp_round_trips(t0, 3s);
  const auto udp = pool.udp_server_first(t0, 3s);
  const std::size_t ok = tcp.passed() + udp.passed(), all = pool.tcp_count() + pool.udp_count();
  char line[200];
  std::snprintf(line, sizeof line,
                "%s: %zu of %zu sessions passed data both ways (slowest %.0f ms)", when, ok, all,
                1000 * std::max(tcp.worst(), udp.worst()));
  note(line);
  lost += static_cast<int>(all - ok);
}

// fw1 active, fw2 and fw3 backups (keepalived priorities 150, 100, 50).
int three_nodes() {
  PairOptions opts;
  opts.snat = true;
  opts.nodes = 3;
  say("Building three firewalls in network namespaces");
  PairTopology t(opts);
  note("fw1 " + t.fw1.name() + ", fw2 " + t.fw2.name() + " and fw3 " + t.fw3_->name() +
       " on one LAN, one WAN and one sync link; keepalived priorities 150, 100, 50");
  note("nftables with policy drop, ct state invalid drop, nf_conntrack_tcp_loose=0 and SNAT");

  say("Starting ctsyncd and keepalived on the three firewalls");
  for (int n = 1; n <= 3; ++n) t.start_daemon(n);
  for (int n = 1; n <= 3; ++n) t.start_keepalived(n);
  if (!wait_holder(t, t.fw1, "fw1")) return 1;

  say("Opening live sessions from the client to the server through fw1");
  SessionPool pool(t.client, t.server);
  pool.open_tcp(10, "10.10.2.20", 5001);
  pool.open_tcp(10, "fd10:2::20", 5002);
  pool.open_udp(3, "10.10.2.20", 6000);
  note("20 TCP connections (10 IPv4, 10 IPv6) and 3 UDP flows");
  check(pool, "before any failover");
  for (int n = 2; n <= 3; ++n)
    PairTopology::wait_for([&] { return t.ctl(n, "ready") == 0; }, 5000ms);
  note("fw2 and fw3 both hold a copy; `ctsyncctl status` on fw3:");
  indent(t.ctl_output(3, "status"));

  say("Failover 1: fw1 crashes; fw2 (priority 100) takes over");
  t.crash(1);
  if (!wait_holder(t, t.fw2, "fw2")) return 1;
  check(pool, "after the crash of fw1");
  SessionPool later(t.client, t.server);
  later.open_tcp(5, "10.10.2.20", 5004);
  note("5 more TCP connections opened through fw2");
  PairTopology::wait_for([&] { return t.ctl(3, "ready") == 0; }, 5000ms);
  note("fw3 now follows fw2 (its copy of fw1 is dropped once fw2's whole table is there):");
  indent(t.ctl_output(3, "status"));

  say("Failover 2: fw2 crashes too; fw3 (priority 50) takes over");
  t.crash(2);
  if (!wait_holder(t, t.fw3_.operator*(), "fw3")) return 1;
  check(pool, "after the crash of fw2");
  check(later, "the connections opened through fw2");

  say("fw1 and fw2 reboot with empty tables, fetch fw3's, and fw1 takes over by priority");
  t.reboot(2);
  t.reboot(1);
  if (!wait_holder(t, t.fw1, "fw1")) return 1;
  check(pool, "after the failback to fw1");
  check(later, "the connections opened through fw2");
  note("fw1 now:");
  indent(t.ctl_output(1, "status"));
  say(lost == 0 ? "Every session survived two crashes in a row and the failback"
                : std::to_string(lost) + " session checks failed");
  return lost == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "the demo creates network namespaces: run it as root\n");
    return 2;
  }
  const std::string args = argc == 3 ? std::string(argv[1]) + " " + argv[2] : "";
  if (argc == 3 && args == "--nodes 3") return three_nodes();
  if (argc != 1 && args != "--nodes 2") {
    std::fprintf(stderr, "usage: %s [--nodes 2|3]\n", argv[0]);
    return 2;
  }
  PairOptions opts;
  opts.snat = true;
  say("Building a firewall pair in network namespaces");
  PairTopology t(opts);
  note("client " + t.client.name() +
       ": 10.10.1.10, fd10:1::10 (LAN), default route via the LAN virtual address");
  note("server " + t.server.name() +
       ": 10.10.2.20, fd10:2::20 (WAN), default route via the WAN virtual address");
  note("fw1 " + t.fw1.name() + " and fw2 " + t.fw2.name() +
       ": nftables with policy drop, ct state invalid drop,");
  note(
      "   nf_conntrack_tcp_loose=0 and SNAT to the WAN virtual address: only synced state keeps a "
      "session");
  note("switch " + t.sw.name() + ": bridges for LAN, WAN and the sync link");

  say("Starting ctsyncd and keepalived (VRRPv3, 100 ms adverts) on both firewalls");
  t.start_daemon(1);
  t.start_daemon(2);
  t.start_keepalived(1);
  t.start_keepalived(2);
  if (!wait_holder(t, t.fw1, "fw1")) return 1;

  say("Opening live sessions from the client to the server through fw1");
  SessionPool pool(t.client, t.server);
  pool.open_tcp(10, "10.10.2.20", 5001);
  pool.open_tcp(10, "fd10:2::20", 5002);
  pool.open_udp(3, "10.10.2.20", 6000);
  pool.open_udp(3, "fd10:2::20", 6100);
  note("20 TCP connections (10 IPv4, 10 IPv6) and 6 UDP flows");
  check(pool, "before any failover");
  PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 5000ms);
  note("fw2 holds a copy of every session; `ctsyncctl status` on fw2:");
  indent(t.ctl_output(2, "status"));

  say("Failover 1: fw1 steps down (keepalived stops and hands over)");
  t.k1.kill(SIGTERM);
  if (!wait_holder(t, t.fw2, "fw2")) return 1;
  check(pool, "after the switchover to fw2");

  say("fw1 comes back, resyncs from fw2 and takes over again once it is ready");
  PairTopology::wait_for([&] { return t.ctl(1, "ready") == 0; }, 5000ms);
  t.start_keepalived(1);
  if (!wait_holder(t, t.fw1, "fw1")) return 1;
  check(pool, "after the failback to fw1");

  say("Failover 2: fw1 crashes (frozen, its links cut, then killed: no goodbye to fw2)");
  t.crash(1);
  if (!wait_holder(t, t.fw2, "fw2")) return 1;
  check(pool, "after the crash of fw1");

  say("fw1 reboots with an empty conntrack table, fetches fw2's, and the pair fails back");
  t.reboot(1);
  if (!wait_holder(t, t.fw1, "fw1")) return 1;
  check(pool, "after the failback to fw1");

  say("Where to look");
  note("ctsyncctl status / stats / flows:  ip netns exec <fw> ctsyncctl --socket " +
       t.socket_path(1) + " status");
  note("fw1 now:");
  indent(t.ctl_output(1, "status"));
  note("logs and configuration of this run: " + t.dir +
       " (removed on exit; CTSYNC_KEEP_LOGS=1 keeps them)");

  say(lost == 0 ? "Every session survived both failovers and both failbacks"
                : std::to_string(lost) + " session checks failed");
  return lost == 0 ? 0 : 1;
}

// What a switchover costs the sessions going through it, ctsyncd beside conntrackd in the same
// run: a SNAT pair, M background flows in the active node's table, 20 IPv4 and 20 IPv6 TCP
// sessions each sending a message every 20 ms that the server echoes. The addresses move to
// the backup, then keepalived's notify_master is called, on time or a second late. Reported:
// the worst stall (the longest round trip of any message sent around the takeover), the TCP
// retransmissions it caused (client and server), and the packets the new active node dropped
// as invalid. Variants: ctsyncd external with the takeover hold, ctsyncd external without it,
// ctsyncd direct, conntrackd external (FTFW, primary-backup.sh's commands).
// Then the cost of the hold's rule on an active node, where nothing listens on the queue:
// system CPU per forwarded packet with and without the rule.
// Usage: takeover_stall [M...]   (default 10000 200000 1000000; CTSYNC_BENCH_REPS=1)
#include <poll.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "bench_daemons.hpp"
#include "bench_flows.hpp"
#include "kernel/conntrack_writer.hpp"
#include "session_pool.hpp"

namespace {

using namespace ctsync;
using namespace ctsync::bench;
using test::PairOptions;

struct Variant {
  const char* name;
  bool ctsyncd = true;
  bool hold = false;
  bool direct = false;
};

struct Outcome {
  double worst_ms = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t invalid = 0;
  bool all_alive = true;
};

std::uint64_t retransmitted(const test::Namespace& ns) {
  // "Tcp: ... RetransSegs ..." : the header line names the fields, the next holds the values.
  const std::string out = ns.output("cat /proc/net/snmp");
  std::istringstream in(out);
  std::string names, values;
  while (std::getline(in, names)) {
    if (names.rfind("Tcp:", 0) != 0 || !std::getline(in, values)) continue;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value) {
      if (name == "RetransSegs") return std::stoull(value);
    }
  }
  return 0;
}

// Every session sends an 8-byte sequence number every 20 ms; the server side echoes at once.
// The worst round trip of a message sent in [from, until) is the longest any session stalled.
class Echoes {
 public:
  explicit Echoes(const test::SessionPool& pool) {
    for (const auto& t : pool.tcp()) sessions_.push_back(Session{t.client, t.server, {}, 0, {}});
  }
  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void mark_from() { from_ = SteadyClock::now(); }
  double stop_and_worst_ms() {
    stop_ = true;
    thread_.join();
    return worst_ms_;
  }
  bool all_answered() const {
    for (const auto& s : sessions_)
      if (!s.sent.empty() && s.answered + 25 < s.sent.size()) return false;
    return true;
  }

 private:
  struct Session {
    int client, server;
    std::vector<SteadyClock::time_point> sent;
    std::size_t answered = 0;
    std::string answer_buf;
  };
  void loop() {
    auto next_send = SteadyClock::now();
    char buf[4096];
    while (!stop_) {
      const auto now = SteadyClock::now();
      if (now >= next_send) {
        for (auto& s : sessions_) {
          std::uint64_t seq = s.sent.size();
          if (::send(s.client, &seq, sizeof seq, MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof seq)
            s.sent.push_back(now);
        }
        next_send += 20ms;
      }
      std::vector<pollfd> fds;
      for (auto& s : sessions_) {
        fds.push_back({s.server, POLLIN, 0});
        fds.push_back({s.client, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), 2);
      for (std::size_t i = 0; i < sessions_.size(); ++i) {
        Session& s = sessions_[i];
        if (fds[2 * i].revents & POLLIN) {
          const ssize_t n = ::recv(s.server, buf, sizeof buf, MSG_DONTWAIT);
          if (n > 0) ::send(s.server, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        }
        if (fds[2 * i + 1].revents & POLLIN) {
          const ssize_t n = ::recv(s.client, buf, sizeof buf, MSG_DONTWAIT);
          if (n <= 0) continue;
          s.answer_buf.append(buf, static_cast<std::size_t>(n));
          const auto got = SteadyClock::now();
          while (s.answer_buf.size() >= 8) {
            std::uint64_t seq;
            std::memcpy(&seq, s.answer_buf.data(), 8);
            s.answer_buf.erase(0, 8);
            if (seq < s.sent.size() && s.sent[seq] >= from_.load()) {
              worst_ms_ = std::max(
                  worst_ms_, std::chrono::duration<double, std::milli>(got - s.sent[seq]).count());
            }
            ++s.answered;
          }
        }
      }
    }
  }
  std::vector<Session> sessions_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<SteadyClock::time_point> from_{SteadyClock::time_point::max()};
  double worst_ms_ = 0;
};

Outcome run(const Variant& v, std::size_t m, std::chrono::milliseconds late) {
  PairOptions o;
  o.snat = true;
  o.hold_rule = v.hold;
  o.cache_mode = v.direct ? "direct" : "external";
  if (v.hold) o.extra_config = "[takeover]\nqueue = 7\n";
  PairTopology t(o);
  Ctsyncd ctsyncd;
  Conntrackd conntrackd;
  Daemon& d = v.ctsyncd ? static_cast<Daemon&>(ctsyncd) : conntrackd;
  d.direct = v.direct;
  t.add_virtual_addresses(t.fw1);
  d.start(t, 1);
  d.start(t, 2);
  d.make_active(t, 1);
  {
    test::EnterNamespace in(t.fw1);
    auto w = ConntrackWriter::open({});
    std::vector<WriteResult> r;
    const auto flows = bench::flows(m, 3);
    for (std::size_t i = 0; i < flows.size(); i += 2000)
      (void)w->upsert(std::span(flows).subspan(i, std::min<std::size_t>(2000, m - i)), r);
  }
  test::SessionPool pool(t.client, t.server);
  pool.open_tcp(20, "10.10.2.20", 5001);
  pool.open_tcp(20, "fd10:2::20", 5002);
  PairTopology::wait_for([&] { return d.peer_holds(t, 2) >= m + 40; }, 180000ms, 200ms);
  Echoes echoes(pool);
  echoes.start();
  std::this_thread::sleep_for(1s);
  const auto retrans0 = retransmitted(t.client) + retransmitted(t.server);
  const auto invalid0 = t.counter_value(t.fw2, "invalid_drops");
  echoes.mark_from();
  t.move_virtual_addresses(t.fw1, t.fw2);
  std::this_thread::sleep_for(late);
  d.fail_over(t, 1, 2);
  std::this_thread::sleep_for(8s);
  Outcome r;
  r.worst_ms = echoes.stop_and_worst_ms();
  r.all_alive = echoes.all_answered();
  r.retransmits = retransmitted(t.client) + retransmitted(t.server) - retrans0;
  r.invalid = t.counter_value(t.fw2, "invalid_drops") - invalid0;
  return r;
}

// System CPU (all CPUs, system + softirq) per packet of a UDP blast through the active node,
// with the hold's rule (nobody listening) and without it.
double ns_per_packet(bool rule) {
  PairOptions o;
  o.hold_rule = rule;
  PairTopology t(o);
  t.add_virtual_addresses(t.fw1);
  const int tx = test::socket_in(t.client, AF_INET, SOCK_DGRAM);
  const int rx = test::socket_in(t.server, AF_INET, SOCK_DGRAM);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7000);
  inet_pton(AF_INET, "10.10.2.20", &to.sin_addr);
  ::bind(rx, reinterpret_cast<sockaddr*>(&to), sizeof to);
  auto jiffies = [] {
    std::ifstream in("/proc/stat");
    std::string cpu;
    std::uint64_t user, nice, system, idle, iowait, irq, softirq;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    return system + irq + softirq;
  };
  constexpr int packets = 300000;
  char payload[64] = {};
  // Warm the neighbour caches and the flow's conntrack entry first.
  for (int i = 0; i < 1000; ++i)
    ::sendto(tx, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::this_thread::sleep_for(200ms);
  const auto j0 = jiffies();
  for (int i = 0; i < packets; ++i)
    ::sendto(tx, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  const auto j1 = jiffies();
  ::close(tx);
  ::close(rx);
  return static_cast<double>(j1 - j0) / static_cast<double>(::sysconf(_SC_CLK_TCK)) * 1e9 / packets;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoul(argv[i]));
  if (sizes.empty()) sizes = {10000, 200000, 1000000};
  const int reps =
      std::getenv("CTSYNC_BENCH_REPS") ? std::atoi(std::getenv("CTSYNC_BENCH_REPS")) : 1;
  const Variant variants[] = {{"ctsyncd external + hold", true, true, false},
                              {"ctsyncd external", true, false, false},
                              {"ctsyncd direct", true, false, true},
                              {"conntrackd external", false, false, false}};
  std::printf(
      "| flows | notify | variant | worst stall (ms) | TCP retransmissions | invalid drops | all "
      "alive |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const std::size_t m : sizes) {
    ConntrackMaxRaise raise(m + 100000);
    for (const auto late : {0ms, 1000ms}) {
      for (const Variant& v : variants) {
        std::vector<double> worst, retrans, invalid;
        bool alive = true;
        for (int r = 0; r < reps; ++r) {
          const Outcome res = run(v, m, late);
          worst.push_back(res.worst_ms);
          retrans.push_back(static_cast<double>(res.retransmits));
          invalid.push_back(static_cast<double>(res.invalid));
          alive = alive && res.all_alive;
        }
        std::printf("| %zu | %s | %s | %.0f | %.0f | %.0f | %s |\n", m,
                    late.count() ? "1 s late" : "on time", v.name, median(worst), median(retrans),
                    median(invalid), alive ? "yes" : "NO");
        std::fflush(stdout);
      }
    }
  }
  std::vector<double> with, without;
  for (int r = 0; r < 5; ++r) {
    without.push_back(ns_per_packet(false));
    with.push_back(ns_per_packet(true));
  }
  std::printf(
      "\n| rule on the active node (nobody listening) | system CPU per forwarded packet (ns) |\n");
  std::printf("|---|---|\n| without | %.0f |\n| with | %.0f |\n| ratio | %.2f |\n", median(without),
              median(with), median(with) / median(without));
  return 0;
}

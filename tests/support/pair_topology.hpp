#pragma once
// A firewall pair between a client and a server, as an operator builds it:
//
//   client ── br-lan ──┬── fw1 ──┬── br-wan ── server
//                      └── fw2 ──┘
//                 fw1 ── br-sync ── fw2
//
// The bridges live in a "switch" namespace. The client and the server route through the
// virtual addresses (LAN 10.10.1.1 / fd10:1::1, WAN 10.10.2.1 / fd10:2::1), which only the
// active firewall holds, so they reach each other only through it. The firewalls run
// nftables with a drop policy, `ct state invalid drop` and nf_conntrack_tcp_loose=0: only
// synced state can keep a session alive across a failover.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "daemon_process.hpp"
#include "netns.hpp"

namespace ctsync::test {

struct PairOptions {
  bool snat = false;  // SNAT client traffic to the WAN virtual address
  std::string cache_mode = "external";
  std::string extra_config;        // appended to each node's TOML
  std::string cache_config;        // added to each node's [cache] table
  bool input_invalid_drop = true;  // the example ruleset's fix for the takeover race
  int commit_delay_ms = 0;         // stretch the takeover window (race tests only)
  bool metrics = false;            // serve /metrics on the sync address, port 9712
  // The sync link goes through a relay namespace (fw1 - relay - fw2) and the daemons talk
  // unicast to it, so tests can impair it; otherwise fw1 and fw2 share a multicast bridge.
  bool sync_relay = false;
  // Only the network: no ruleset, no sysctls (a test that configures the nodes itself).
  bool bare = false;
  bool accounting = true;  // nf_conntrack_acct on the firewalls
  // The FTP firewall: the FTP helper on port 21, new LAN->WAN connections only to port 21,
  // so a data connection passes only as RELATED (counter "related").
  bool ftp = false;
  bool sync_expectations = true;  // sync.expectations in the daemons' configuration
  // keepalived calls packaging/keepalived/primary-backup.sh primary|backup|fault from
  // notify_master/backup/fault, as a keepalived.conf written for conntrackd does.
  bool conntrackd_notify = false;
  // The takeover hold's rule (docs/operations.md) on both firewalls: packets arriving on the
  // LAN and WAN go to nfqueue `hold_queue` before conntrack, fail-open. The daemons listen on
  // it when their configuration says [takeover] queue = hold_queue.
  bool hold_rule = false;
  int hold_queue = 7;
  // Run the daemons as uid/gid `run_as_id` (when not 0) with CAP_NET_ADMIN as their only
  // capability, as the packaged unit does (User=, AmbientCapabilities=). The test directory
  // becomes theirs and the key root:group 0640, as the package installs it.
  unsigned run_as_id = 0;
  // The ctsyncd binary of each node, when not this build's (an earlier release beside this
  // one); empty: this build's.
  std::string binary[3];
  // Firewalls: 2, or 3 (fw3 at .4 on every link, keepalived priority 50 after 150 and 100).
  int nodes = 2;
  // Without a relay: the daemons send unicast to every other node's sync address instead of
  // the multicast group.
  bool unicast = false;
  // The daemons as an operator starts them: heartbeats and timeouts at their defaults, log
  // level info (tests tune them for speed and read debug logs).
  bool default_tuning = false;
};

class PairTopology {
 public:
  Namespace sw{"sw"}, client{"cl"}, server{"sv"}, fw1{"f1"}, fw2{"f2"};
  std::unique_ptr<Namespace> fw3_;  // with nodes = 3
  std::string dir;                  // configs, keys, logs, sockets

  // Node `node`'s namespace, daemon and keepalived (1-based, as the node ids).
  const Namespace& fw(int node) const { return node == 1 ? fw1 : node == 2 ? fw2 : *fw3_; }
  ChildProcess& daemon(int node) { return node == 1 ? d1 : node == 2 ? d2 : d3; }
  ChildProcess& keepalived(int node) { return node == 1 ? k1 : node == 2 ? k2 : k3; }
  int nodes() const { return opts_.nodes; }

  explicit PairTopology(PairOptions opts = {}) : opts_(std::move(opts)) {
    dir = "/tmp/ctsync-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
    std::filesystem::create_directories(dir);
    if (opts_.nodes == 3) fw3_ = std::make_unique<Namespace>("f3");
    for (const Namespace* ns : {&sw, &client, &server, &fw1, &fw2}) {
      ns->must("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    }
    if (fw3_) {
      fw3_->must("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    }
    sw.must(
        "ip link add br-lan type bridge && ip link add br-wan type bridge && ip link add br-sync "
        "type bridge");
    sw.must("ip link set br-lan up && ip link set br-wan up && ip link set br-sync up");
    plug(client, "eth0", "br-lan", "c");
    plug(server, "eth0", "br-wan", "s");
    plug(fw1, "lan", "br-lan", "1l");
    plug(fw1, "wan", "br-wan", "1w");
    if (!opts_.sync_relay) plug(fw1, "sync", "br-sync", "1s");
    plug(fw2, "lan", "br-lan", "2l");
    plug(fw2, "wan", "br-wan", "2w");
    if (!opts_.sync_relay) plug(fw2, "sync", "br-sync", "2s");
    if (fw3_) {
      plug(*fw3_, "lan", "br-lan", "3l");
      plug(*fw3_, "wan", "br-wan", "3w");
      plug(*fw3_, "sync", "br-sync", "3s");
    }

    client.must("ip addr add 10.10.1.10/24 dev eth0 && ip addr add fd10:1::10/64 dev eth0 nodad");
    client.must("ip route add default via 10.10.1.1 && ip -6 route add default via fd10:1::1");
    server.must("ip addr add 10.10.2.20/24 dev eth0 && ip addr add fd10:2::20/64 dev eth0 nodad");
    server.must("ip route add default via 10.10.2.1 && ip -6 route add default via fd10:2::1");
    for (int node = 1; node <= opts_.nodes; ++node) {
      const Namespace* fw = &this->fw(node);
      const std::string i = std::to_string(node + 1);
      fw->must("ip addr add 10.10.1." + i + "/24 dev lan && ip addr add fd10:1::" + i +
               "/64 dev lan nodad");
      fw->must("ip addr add 10.10.2." + i + "/24 dev wan && ip addr add fd10:2::" + i +
               "/64 dev wan nodad");
      if (!opts_.sync_relay) fw->must("ip addr add 10.10.3." + i + "/24 dev sync");
      if (opts_.bare) continue;
      fw->must("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
      fw->must(
          "sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 net.netfilter.nf_conntrack_acct=" +
          std::string(opts_.accounting ? "1" : "0"));
      ruleset(*fw);
      if (opts_.hold_rule) hold_rule(*fw);
    }
    if (opts_.sync_relay) {
      relay = std::make_unique<Namespace>("rl");
      veth(fw1, "sync", *relay, "to1");
      veth(fw2, "sync", *relay, "to2");
      fw1.must("ip addr add 10.10.3.2/24 dev sync");
      relay->must("ip addr add 10.10.3.1/24 dev to1 && ip addr add 10.10.5.1/24 dev to2");
      fw2.must("ip addr add 10.10.5.3/24 dev sync");
    }
    std::ofstream(dir + "/sync.key")
        << "8f1a6b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e\n";
    std::filesystem::permissions(dir + "/sync.key", std::filesystem::perms::owner_read |
                                                        std::filesystem::perms::owner_write);
    if (opts_.run_as_id != 0) {
      const auto id = std::to_string(opts_.run_as_id);
      sh("chown " + id + ":" + id + " " + dir + " && chmod 0750 " + dir + " && chown 0:" + id +
         " " + dir + "/sync.key && chmod 0640 " + dir + "/sync.key");
    }
  }

  ~PairTopology() {
    for (ChildProcess* c : {&k1, &k2, &k3, &d1, &d2, &d3}) c->kill(SIGKILL);
    if (::getenv("CTSYNC_KEEP_LOGS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  // The virtual addresses: on `to`, off `from`; neighbours re-resolve them at once, as the
  // gratuitous ARP / unsolicited NA of keepalived would make them.
  void move_virtual_addresses(const Namespace& from, const Namespace& to) const {
    from.run(
        "ip addr del 10.10.1.1/24 dev lan; ip addr del fd10:1::1/64 dev lan; "
        "ip addr del 10.10.2.1/24 dev wan; ip addr del fd10:2::1/64 dev wan");
    add_virtual_addresses(to);
    client.run("ip neigh flush dev eth0");
    server.run("ip neigh flush dev eth0");
  }
  void add_virtual_addresses(const Namespace& to) const {
    to.must(
        "ip addr add 10.10.1.1/24 dev lan && ip addr add fd10:1::1/64 dev lan nodad && "
        "ip addr add 10.10.2.1/24 dev wan && ip addr add fd10:2::1/64 dev wan nodad");
  }

  std::string metrics_address(int node) const {
    return "10.10.3." + std::to_string(node + 1) + ":9712";
  }
  // The node's /metrics page, fetched from inside its namespace.
  std::string scrape(int node) const {
    return fw(node).output("curl -s --max-time 5 http://" + metrics_address(node) + "/metrics");
  }
  // The value of one series in a scrape ("name{labels}" exactly as exported); -1 if absent.
  static double metric(const std::string& scrape_text, const std::string& series) {
    std::size_t at = 0;
    while ((at = scrape_text.find(series + " ", at)) != std::string::npos) {
      if (at == 0 || scrape_text[at - 1] == '\n')
        return std::stod(scrape_text.substr(at + series.size() + 1));
      ++at;
    }
    return -1;
  }

  std::string config_path(int node) const {
    return dir + "/ctsyncd" + std::to_string(node) + ".toml";
  }
  std::string socket_path(int node) const {
    auto it = socket_override.find(node);
    return it != socket_override.end() ? it->second : dir + "/ctl" + std::to_string(node) + ".sock";
  }
  std::map<int, std::string> socket_override;  // a test that writes its own configuration

  void write_config(int node) const {
    std::ofstream(config_path(node))
        << "[node]\nid = " << node << "\nstate_dir = \"" << dir << "/state" << node
        << "\"\nlog_level = \"" << (opts_.default_tuning ? "info" : "debug") << "\"\n"
        << (opts_.sync_relay
                ? (node == 1 ? "[sync]\npeers = [\"10.10.3.1\"]\nbind = \"10.10.3.2\"\n"
                             : "[sync]\npeers = [\"10.10.5.1\"]\nbind = \"10.10.5.3\"\n")
            : opts_.unicast ? unicast_sync(node)
                            : "[sync]\ninterface = \"sync\"\nmulticast_group = \"239.255.12.1\"\n")
        << (opts_.default_tuning ? "" : "heartbeat_interval_ms = 100\npeer_timeout_ms = 500\n")
        << "expectations = " << (opts_.sync_expectations ? "true" : "false") << "\n"
        << "[[sync.keys]]\nid = 1\nfile = \"" << dir << "/sync.key\"\n"
        << "[cache]\nmode = \"" << opts_.cache_mode
        << "\"\ncommit_delay_ms = " << opts_.commit_delay_ms << "\n"
        << opts_.cache_config
        << "[filter]\nvirtual_addresses = [\"10.10.1.1\", \"fd10:1::1\", "
           "\"10.10.2.1\", \"fd10:2::1\"]\n"
        << "[metrics]\nlisten = \"" << (opts_.metrics ? metrics_address(node) : std::string())
        << "\"\n"
        << "[control]\nsocket = \"" << socket_path(node) << "\"\n"
        << opts_.extra_config;
  }

  // Every other node's sync address as a peer, this node's as the address to bind.
  std::string unicast_sync(int node) const {
    std::string peers;
    for (int other = 1; other <= opts_.nodes; ++other) {
      if (other == node) continue;
      peers +=
          std::string(peers.empty() ? "" : ", ") + "\"10.10.3." + std::to_string(other + 1) + "\"";
    }
    return "[sync]\npeers = [" + peers + "]\nbind = \"10.10.3." + std::to_string(node + 1) + "\"\n";
  }

  // Node `node`'s configuration with `lines` added to its [sync] table, written beside the
  // usual one as `name`; its path, for start_daemon_with.
  std::string config_with_sync(int node, const std::string& lines, const std::string& name) {
    write_config(node);
    std::stringstream text;
    text << std::ifstream(config_path(node)).rdbuf();
    std::string config = text.str();
    config.insert(config.find("[sync]\n") + 7, lines);
    const std::string path = dir + "/" + name;
    std::ofstream(path) << config;
    return path;
  }

  ChildProcess d1, d2, d3;
  std::unique_ptr<Namespace> relay;  // with sync_relay

  // Starts ctsyncd on fw`node` and waits until its control socket answers.
  void start_daemon(int node, const std::vector<std::string>& env = {}) {
    write_config(node);
    start_daemon_with(node, config_path(node), env);
  }
  void start_daemon_with(int node, const std::string& config,
                         const std::vector<std::string>& env = {}) {
    ChildProcess& d = daemon(node);
    const Namespace& ns = fw(node);
    std::vector<std::string> argv = {"ip", "netns", "exec", ns.name()};
    if (opts_.run_as_id != 0) {
      const auto id = std::to_string(opts_.run_as_id);
      argv.insert(argv.end(), {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups",
                               "--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin",
                               "--bounding-set=-all,+net_admin", "--no-new-privs"});
    }
    const std::string& binary = opts_.binary[node - 1];
    argv.insert(argv.end(), {binary.empty() ? std::string(CTSYNCD_PATH) : binary, "-c", config});
    d.start(argv, dir + "/ctsyncd" + std::to_string(node) + ".log", env);
    // The socket file first (a cheap check, so the wait adds little to what benchmarks
    // measure), then an answer on it.
    for (int i = 0; i < 2500 && !std::filesystem::exists(socket_path(node)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (int i = 0; i < 200; ++i) {
      if (ctl(node, "status") == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error("ctsyncd on fw" + std::to_string(node) + " did not start: " + d.log());
  }

  int ctl(int node, const std::string& args) const {
    const Namespace& ns = fw(node);
    return sh(ns.exec(std::string(CTSYNCCTL_PATH) + " -s " + socket_path(node) + " " + args +
                      " >/dev/null 2>&1"));
  }
  std::string ctl_output(int node, const std::string& args) const {
    const Namespace& ns = fw(node);
    return sh_output(
        ns.exec(std::string(CTSYNCCTL_PATH) + " -s " + socket_path(node) + " " + args + " 2>&1"));
  }

  // Flows in fw`node`'s copies of its peers' tables, as `ctsyncctl flows --external` lists them.
  // `ctsyncctl stats --json` of a node: its counters.
  nlohmann::json stats(int node) const {
    return nlohmann::json::parse(ctl_output(node, "stats --json"));
  }
  std::size_t external_count(int node) const {
    return nlohmann::json::parse(ctl_output(node, "flows --external --json")).size();
  }

  // Waits until `pred` holds, polling every `every`; false after `timeout`.
  template <typename Pred>
  static bool wait_for(Pred pred, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(every);
    }
    return pred();
  }

  std::uint64_t counter_value(const Namespace& fw, const std::string& name) const {
    const std::string out = fw.output("nft list counter inet fw " + name);
    const auto p = out.find("packets ");
    return p == std::string::npos ? 0 : std::stoull(out.substr(p + 8));
  }

  const PairOptions& options() const { return opts_; }
  // Node `node` runs another binary from its next start (an upgrade, in place).
  void set_binary(int node, std::string path) { opts_.binary[node - 1] = std::move(path); }

  // ---- keepalived ----
  ChildProcess k1, k2, k3;
  int keepalived_starts_ = 0;

  void start_keepalived(int node, bool track_ready = true) {
    const std::string n = std::to_string(node);
    const std::string self = std::to_string(node + 1);
    const std::string priority = node == 1 ? "150" : node == 2 ? "100" : "50";
    const std::string notify = std::string(CTSYNC_NOTIFY_PATH) + " --socket " + socket_path(node) +
                               " --ctsyncctl " + CTSYNCCTL_PATH + " --log " + dir + "/notify" + n +
                               ".log";
    std::string conf = "global_defs {\n router_id fw" + n +
                       "\n vrrp_version 3\n script_user root\n"
                       " enable_script_security\n}\n";
    if (track_ready) {
      conf += "vrrp_script ctsync_ready {\n script \"" + std::string(CTSYNCCTL_PATH) +
              " --socket " + socket_path(node) +
              " ready\"\n interval 1\n timeout 2\n fall 2\n rise 2\n}\n";
    }
    conf += "vrrp_sync_group FW {\n group {\n  LAN\n  WAN\n }\n";
    if (opts_.conntrackd_notify) {
      const std::string script = std::filesystem::path(CTSYNC_NOTIFY_PATH).parent_path().string() +
                                 "/primary-backup.sh --socket " + socket_path(node) +
                                 " --ctsyncctl " + CTSYNCCTL_PATH + " --log " + dir + "/notify" +
                                 n + ".log";
      conf += " notify_master \"" + script + " primary\"\n notify_backup \"" + script +
              " backup\"\n notify_fault \"" + script + " fault\"\n";
    } else {
      conf += " notify \"" + notify + "\"\n";
    }
    if (track_ready) conf += " track_script {\n  ctsync_ready\n }\n";
    conf += "}\n";
    int vrid = 51;
    for (const char* side : {"lan", "wan"}) {
      const std::string net = std::string(side) == "lan" ? "1" : "2";
      std::string peers;
      for (int other = 1; other <= opts_.nodes; ++other) {
        if (other != node) peers += "  10.10." + net + "." + std::to_string(other + 1) + "\n";
      }
      conf += "vrrp_instance " + std::string(side == std::string("lan") ? "LAN" : "WAN") +
              " {\n state BACKUP\n interface " + side + "\n virtual_router_id " +
              std::to_string(vrid++) + "\n priority " + priority +
              "\n advert_int 0.1\n preempt_delay 2\n unicast_src_ip 10.10." + net + "." + self +
              "\n unicast_peer {\n" + peers + " }\n virtual_ipaddress {\n  10.10." + net +
              ".1/24 dev " + side + "\n }\n virtual_ipaddress_excluded {\n  fd10:" + net +
              "::1/64 dev " + side + "\n }\n}\n";
    }
    const std::string path = dir + "/keepalived" + n + ".conf";
    std::ofstream(path) << conf;
    start_keepalived_with(node, path);
  }

  // `config_id`: keepalived's -i (which `@id` lines of the file apply); default the host name.
  void start_keepalived_with(int node, const std::string& path, const std::string& config_id = "") {
    const Namespace& ns = fw(node);
    const std::string n = std::to_string(node);
    ChildProcess& k = keepalived(node);
    // Fresh pid files per start: a killed keepalived's VRRP child can linger as a zombie
    // whose pid still "runs", and keepalived would refuse to start again.
    const std::string run = std::to_string(keepalived_starts_++);
    std::vector<std::string> argv = {"ip",         "netns",
                                     "exec",       ns.name(),
                                     "keepalived", "-n",
                                     "-l",         "-D",
                                     "-G",         "-P",
                                     "-f",         path,
                                     "-p",         dir + "/keepalived" + n + "-" + run + ".pid",
                                     "-r",         dir + "/vrrp" + n + "-" + run + ".pid"};
    if (!config_id.empty()) argv.insert(argv.end(), {"-i", config_id});
    k.start(argv, dir + "/keepalived" + n + ".log",
            // Scripts that call `ctsyncctl` by name find the one just built, as they would
            // find /usr/bin/ctsyncctl on an installed node.
            {"PATH=" + std::filesystem::path(CTSYNCCTL_PATH).parent_path().string() +
             ":/usr/sbin:/usr/bin:/sbin:/bin"});
  }

  // A crash, not a handover: freeze the node so keepalived sends no goodbye, cut it off,
  // then kill its processes.
  void crash(int node) {
    ChildProcess& k = keepalived(node);
    ChildProcess& d = daemon(node);
    const Namespace& ns = fw(node);
    k.signal(SIGSTOP);
    d.signal(SIGSTOP);
    ns.must("ip link set lan down && ip link set wan down && ip link set sync down");
    k.kill(SIGKILL);
    d.kill(SIGKILL);
  }

  // The crashed node boots again: no addresses or conntrack entries survive a reboot; links
  // come back; ctsyncd and keepalived start.
  void reboot(int node) {
    const Namespace& ns = fw(node);
    ns.run(
        "(ip addr del 10.10.1.1/24 dev lan; ip addr del fd10:1::1/64 dev lan; ip addr del "
        "10.10.2.1/24 dev wan; "
        "ip addr del fd10:2::1/64 dev wan; conntrack -F; true) 2>/dev/null");
    ns.must("ip link set lan up && ip link set wan up && ip link set sync up");
    start_daemon(node);
    start_keepalived(node);
  }

  bool holds_virtual_addresses(const Namespace& fw) const {
    const std::string out = fw.output("ip -4 addr show dev wan; ip -4 addr show dev lan");
    return out.find("10.10.2.1/") != std::string::npos &&
           out.find("10.10.1.1/") != std::string::npos;
  }
  std::string notify_log(int node) const {
    std::ifstream in(dir + "/notify" + std::to_string(node) + ".log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }

  void plug(const Namespace& ns, const std::string& ifname, const std::string& bridge,
            const std::string& tag) {
    const std::string a = "v" + std::to_string(::getpid() % 100000) + tag + "a";
    const std::string b = "v" + std::to_string(::getpid() % 100000) + tag + "b";
    sh_or_throw("ip link add " + a + " type veth peer name " + b);
    sh_or_throw("ip link set " + a + " netns " + ns.name() + " name " + ifname);
    sh_or_throw("ip link set " + b + " netns " + sw.name());
    sw.must("ip link set " + b + " master " + bridge + " && ip link set " + b + " up");
    ns.must("sysctl -qw net.ipv6.conf." + ifname + ".accept_dad=0 && ip link set " + ifname +
            " up");
  }

  void ruleset(const Namespace& fw) const {
    std::string rules = R"(
table inet fw {
  counter invalid_drops {}
  counter forwarded {}
  counter new_tcp {}
  chain input {
    type filter hook input priority filter; policy accept;
    meta l4proto tcp ct state new counter name new_tcp
    INPUT_INVALID
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    meta l4proto tcp ct state new counter name new_tcp
    ct state invalid counter name invalid_drops drop
    ct label 127 counter
NEW_AND_ESTABLISHED
  }
)";
    const std::string plain = R"(    ct state established,related counter name forwarded accept
    iifname "lan" oifname "wan" ct state new counter name forwarded accept)";
    const std::string ftp = R"(    ct state established counter name forwarded accept
    ct state related counter name related accept
    iifname "lan" oifname "wan" tcp dport 21 ct state new ct helper set "ftp-standard" counter name forwarded accept)";
    const std::string slot = "NEW_AND_ESTABLISHED";
    rules.replace(rules.find(slot), slot.size(), opts_.ftp ? ftp : plain);
    if (opts_.ftp) {
      const std::string head = "  counter forwarded {}\n";
      rules.insert(
          rules.find(head) + head.size(),
          "  counter related {}\n  ct helper ftp-standard { type \"ftp\" protocol tcp; }\n");
    }
    if (opts_.snat) {
      rules += R"(
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr 10.10.1.0/24 snat ip to 10.10.2.1
    oifname "wan" ip6 saddr fd10:1::/64 snat ip6 to fd10:2::1
  }
)";
    }
    rules += "}\n";
    const std::string marker = "INPUT_INVALID";
    rules.replace(
        rules.find(marker), marker.size(),
        opts_.input_invalid_drop ? "ct state invalid counter name invalid_drops drop" : "");
    const std::string path = dir + "/" + fw.name() + ".nft";
    std::ofstream(path) << rules;
    fw.must("nft -f " + path);
  }

  // As docs/operations.md gives it: VRRP and neighbour discovery never queued.
  void hold_rule(const Namespace& fw) const {
    const std::string q = std::to_string(opts_.hold_queue);
    for (const char* dev : {"lan", "wan"}) {
      const std::string d = dev;
      fw.must("iptables-nft -t raw -A PREROUTING -i " + d + " -p vrrp -j RETURN");
      fw.must("iptables-nft -t raw -A PREROUTING -i " + d + " -j NFQUEUE --queue-num " + q +
              " --queue-bypass");
      for (const char* nd : {"133", "134", "135", "136", "137"}) {
        fw.must("ip6tables-nft -t raw -A PREROUTING -i " + d + " -p ipv6-icmp --icmpv6-type " + nd +
                " -j RETURN");
      }
      fw.must("ip6tables-nft -t raw -A PREROUTING -i " + d + " -p vrrp -j RETURN");
      fw.must("ip6tables-nft -t raw -A PREROUTING -i " + d + " -j NFQUEUE --queue-num " + q +
              " --queue-bypass");
    }
  }

  PairOptions opts_;
};

}  // namespace ctsync::test

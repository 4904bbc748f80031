#include "runtime/daemon.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>

#include <cstring>

#include "config/config_parser.hpp"
#include "config/environment_check.hpp"
#include "core/reload_plan.hpp"
#include "log/log.hpp"

namespace ctsync {

namespace asio = boost::asio;

namespace {

std::vector<FamilyAddress> interface_addresses() {
  std::vector<FamilyAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    FamilyAddress a{};
    if (i->ifa_addr->sa_family == AF_INET) {
      a.family = Family::ipv4;
      std::memcpy(a.address.bytes.data(), &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr,
                  4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      a.family = Family::ipv6;
      std::memcpy(a.address.bytes.data(), &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr,
                  16);
    } else {
      continue;
    }
    out.push_back(a);
  }
  ::freeifaddrs(list);
  return out;
}

Result<KeyRing> load_keys(const Config& c) {
  KeyRing ring;
  for (const auto& k : c.keys) {
    auto key = load_key_file(k.file, false);
    if (!key) return key.error();
    ring.add(k.id, *key);
    sodium_memzero(key->data(), key->size());  // the ring holds it in locked memory now
  }
  if (auto r = ring.set_send_id(c.send_key_id); !r) return r.error();
  return ring;
}

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)), state_(config_.state_dir) {}

Daemon::~Daemon() {
  // Parts that hold timers and posted work go before the loop's other parts.
  failover_.reset();
  gate_.reset();
  queue_.reset();
  mirror_.reset();
  injector_.reset();
}

Result<std::unique_ptr<Daemon>> Daemon::create(Config config) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(config)));
  if (auto r = d->open(); !r) return r.error();
  return d;
}

HoldSettings Daemon::hold_settings() const {
  return HoldSettings{config_.hold_max, config_.hold_max_packets, config_.early_write_life};
}

app::FailoverSettings Daemon::failover_settings() const {
  app::FailoverSettings s;
  s.mode = config_.cache_mode;
  s.commit_batch = config_.commit_batch;
  s.purge_after = config_.purge_after;
  s.purge_timeout = config_.purge_timeout;
  s.commit_delay = config_.commit_delay;
  s.peer_timeout = config_.peer_timeout;
  return s;
}

FlowFilter Daemon::make_filter() const {
  FilterRules rules = config_.filter;
  // The peers' sync datagrams are conntrack entries too; never replicate them.
  if (config_.multicast_group) {
    const auto& g = *config_.multicast_group;
    rules.ignore_addresses.push_back(
        Cidr{g.family, g.address, static_cast<std::uint8_t>(g.family == Family::ipv4 ? 32 : 128)});
  }
  return FlowFilter(rules, interface_addresses());
}

Result<void> Daemon::open() {
  const auto wall_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  auto boot = state_.next_boot_id(wall_ms);
  if (!boot) return boot.error();
  boot_id_ = *boot;

  NetlinkKernelConfig kc;
  kc.writer.batch_messages = std::min<std::size_t>(config_.commit_batch, 1000);
  kc.writer.options.tcp_be_liberal = !config_.tcp_window_tracking;
  kc.events.receive_buffer = config_.netlink_buffer;
  kc.events.receive_buffer_max = config_.netlink_buffer_max;
  kc.expectations = config_.sync_expectations;
  auto kernel = NetlinkKernel::open(io_, kc);
  if (!kernel) return kernel.error();
  kernel_ = std::move(*kernel);

  auto keys = load_keys(config_);
  if (!keys) return keys.error();
  sealer_ = std::make_unique<DatagramSealer>(std::move(*keys), config_.mtu, config_.legacy_sealing);

  TransportConfig tc;
  tc.interface = config_.interface;
  tc.multicast = config_.multicast_group;
  tc.port = config_.port;
  for (const auto& [a, p] : config_.peers) tc.peers.push_back(UdpEndpoint{a.family, a.address, p});
  tc.bind = config_.bind;
  tc.receive_buffer = config_.socket_receive_buffer;
  tc.send_buffer = config_.socket_send_buffer;
  tc.mtu = config_.mtu;

  EngineConfig eng;
  eng.node_id = config_.node_id;
  eng.boot_id = boot_id_;
  saved_peer_marks_ = peer_marks_from_text(state_.load_peer_marks());
  eng.remembered_peers = saved_peer_marks_;
  eng.heartbeat_interval = config_.heartbeat_interval;
  eng.peer_timeout = config_.peer_timeout;
  eng.sender.window_packets = config_.window_packets;
  {
    // A peer's copy can hold what this kernel could take at a promotion, no more.
    const long kernel_max = kernel_->table_size().max;
    const std::size_t derived =
        kernel_max > 0 ? static_cast<std::size_t>(kernel_max) : std::size_t{1} << 20;
    eng.receiver.max_flows = config_.max_peer_flows > 0 ? config_.max_peer_flows : derived;
    eng.receiver.max_early_bytes = config_.max_early_bytes;
    eng.receiver.ready_max_lag = config_.ready_max_lag;
    eng.receiver.max_expectations = config_.max_peer_expectations > 0
                                        ? config_.max_peer_expectations
                                        : std::max<std::size_t>(1024, derived / 16);
  }
  const bool v6 = config_.multicast_group ? config_.multicast_group->family == Family::ipv6
                                          : config_.peers.front().first.family == Family::ipv6;
  eng.max_packet_bytes = config_.mtu - (v6 ? 48 : 28) - DatagramSealer::overhead;

  injector_ = std::make_unique<app::DirectInjector>(loop_, *kernel_, config_.commit_batch,
                                                    config_.direct_refresh);
  PeerFlowObserver* observer = config_.cache_mode == CacheMode::direct ? injector_.get() : nullptr;
  engine_ = std::make_unique<SyncEngine>(eng, observer, Clock::now());
  injector_->read_copies_of(*engine_);

  auto transport = SyncTransport::open(io_, tc, *sealer_, engine_->counters());
  if (!transport) return transport.error();
  transport_ = std::move(*transport);
  link_ = std::make_unique<ReplicationLink>(io_, *engine_, *transport_);

  if (config_.takeover_queue) {
    queue_ = std::make_unique<PacketQueue>(
        io_, PacketQueueConfig{*config_.takeover_queue, config_.takeover_queue_length});
  }
  gate_ = std::make_unique<app::TakeoverGate>(queue_.get(), *kernel_, loop_, *engine_,
                                              hold_settings(), config_.purge_timeout);
  gate_->set_in_kernel(
      [this](std::uint32_t peer, const FlowKey& key) { return injector_->has_written(peer, key); });
  mirror_ = std::make_unique<app::KernelMirror>(*kernel_, loop_, *engine_, *link_, counters_);
  mirror_->set_filter(make_filter());
  mirror_->set_write_batch(config_.commit_batch);
  failover_ = std::make_unique<app::FailoverController>(
      failover_settings(), state_.load_role().value_or(Role::backup),
      app::FailoverPorts{*kernel_, loop_, state_, *link_}, *engine_, *mirror_, *injector_, *gate_,
      counters_, [this](const std::string& role) { systemd_.notify("STATUS=" + role); });
  commands_ = std::make_unique<app::ControlCommands>(
      app::ControlCommands::Parts{loop_, *link_, *kernel_, *engine_, *mirror_, *failover_,
                                  counters_},
      app::ControlCommands::Identity{
          config_.node_id, boot_id_, std::string(cache_mode_name(config_.cache_mode)),
          [this] { return transport_->describe(); }, [this] { return started_; }});

  auto control = ControlServer::open(io_, config_.control_socket,
                                     [this](const ControlRequest& r, Respond respond) {
                                       commands_->handle(r, std::move(respond));
                                     });
  if (!control) return control.error();
  control_ = std::move(*control);
  if (!config_.metrics_listen.empty()) {
    auto metrics = MetricsExporter::open(config_.metrics_listen, CTSYNC_VERSION);
    if (!metrics) return metrics.error();
    metrics_ = std::move(*metrics);
  }
  snapshots_ = std::make_unique<app::MetricsSnapshotBuilder>(app::MetricsSnapshotBuilder::Parts{
      loop_, *kernel_, *engine_, *mirror_, *failover_, *injector_, counters_});
  accounting_timer_ = loop_.timer();
  metrics_timer_ = loop_.timer();
  housekeeping_timer_ = loop_.timer();
  return {};
}

int Daemon::run() {
  start();
  io_.run();
  return 0;
}

void Daemon::stop() {
  if (stopping_) return;
  stopping_ = true;
  systemd_.notify("STOPPING=1");
  log::info("stopping");
  failover_->stop();
  link_->stop();
  control_.reset();
  signals_.cancel();
  systemd_.stop();
  accounting_timer_->cancel();
  metrics_timer_->cancel();
  housekeeping_timer_->cancel();
  save_peer_marks();  // a restart by hand leaves no window for a replay
  kernel_->close();
  io_.stop();
}

void Daemon::start() {
  mirror_->start();
  log::info("node " + std::to_string(config_.node_id) + " boot " + std::to_string(boot_id_) +
            ", role " + std::string(role_name(failover_->role())) + ", cache mode " +
            std::string(cache_mode_name(config_.cache_mode)) + ", sync " + transport_->describe());
  if (!mirror_->accounting()) {
    log::info(
        "nf_conntrack_acct is off in this namespace: traffic accounting sees no bytes or packets "
        "(sysctl -w net.netfilter.nf_conntrack_acct=1 turns it on)");
  }
  if (auto e = kernel_events_problem(); !e.empty()) log::error(e);
  wait_signals();
  link_->start();
  systemd_.start_watchdog();
  publish_metrics();
  schedule_accounting();
  schedule_housekeeping();
  // Peers' tables do not depend on ours: ask for them first. Our own dump comes after, posted
  // behind the request, because asking for a dump already makes the kernel walk its table
  // (the whole host's, other namespaces' entries included: tens of milliseconds when large).
  engine_->request_resync(Clock::now());
  link_->kick();
  // The kernel's table first, so that what we announce and what we report is complete.
  loop_.post([this] {
    mirror_->pass([this] {
      mirror_->reload_expectations();
      failover_->resume();
      started_ = true;
      systemd_.notify("READY=1\nSTATUS=" + std::string(role_name(failover_->role())) + ", " +
                      std::to_string(engine_->local().size()) + " local flows");
      log::info("ready: " + std::to_string(engine_->local().size()) + " flows in the kernel table");
    });
  });
}

void Daemon::schedule_accounting() {
  // Without nf_conntrack_acct the counters are all zero: no point in reading them.
  if (!mirror_->accounting() || config_.accounting_interval == Duration::zero()) return;
  accounting_timer_->start(config_.accounting_interval, [this] {
    if (stopping_) return;
    mirror_->pass();  // live flows' counters; also reconciles the internal cache
    schedule_accounting();
  });
}

void Daemon::save_peer_marks() {
  auto marks = engine_->peer_marks();
  if (marks == saved_peer_marks_) return;
  if (auto r = state_.save_peer_marks(peer_marks_to_text(marks)); !r) {
    log::warning("cannot remember the peers' newest datagrams: " + r.error().message);
    return;
  }
  saved_peer_marks_ = std::move(marks);
}

// A full copy is counted and shown in status; the log says so once per second at most, with
// the fix, rather than once per refused entry.
void Daemon::log_refusals() {
  const auto& c = engine_->counters();
  const std::uint64_t refused = c.peer_flows_refused + c.peer_expectations_refused;
  if (refused == refusals_logged_) return;
  log::warning(std::to_string(refused - refusals_logged_) +
               " entries refused: a peer's copy is full (sync.max_peer_flows = " +
               std::to_string(engine_->config().receiver.max_flows) + ", max_peer_expectations = " +
               std::to_string(engine_->config().receiver.max_expectations) +
               "); the copy is incomplete and this node not ready until a bulk fits");
  refusals_logged_ = refused;
}

// Once a second. The peers' newest datagrams: after a crash, only those of the last second
// could be replayed to the restarted daemon as news (docs/security.md).
void Daemon::schedule_housekeeping() {
  housekeeping_timer_->start(seconds(1), [this] {
    if (stopping_) return;
    save_peer_marks();
    log_refusals();
    schedule_housekeeping();
  });
}

void Daemon::publish_metrics() {
  if (!metrics_) return;
  metrics_->publish(snapshots_->build(started_));
  metrics_timer_->start(seconds(1), [this] {
    if (!stopping_) publish_metrics();
  });
}

void Daemon::wait_signals() {
  signals_.clear();
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      wait_signals();
      return;
    }
    log::info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    stop();
  });
}

void Daemon::reload() {
  systemd_.notify("RELOADING=1");
  auto fresh = load_config(config_.path);
  if (!fresh) {
    log::error("reload failed, keeping the running configuration: " + fresh.error().message);
    systemd_.notify("READY=1");
    return;
  }
  // Key files are read again even when their names did not change: rotating a key may
  // rewrite the file in place.
  auto keys = load_keys(*fresh);
  if (!keys) {
    log::error("reload failed, keeping the running configuration: " + keys.error().message);
    systemd_.notify("READY=1");
    return;
  }
  ReloadPlan plan = plan_reload(config_, *fresh);
  sealer_->replace_keys(std::move(*keys));
  config_ = std::move(plan.next);
  log::set_level(config_.log_level);
  // Interface addresses are read again too: the node's own addresses may have changed.
  mirror_->set_filter(make_filter());
  failover_->apply(failover_settings());
  gate_->apply(hold_settings(), config_.purge_timeout);
  std::string msg = "reloaded: ";
  if (plan.applied.empty()) {
    msg += "no setting changed (keys and interface addresses read again)";
  } else {
    for (std::size_t i = 0; i < plan.applied.size(); ++i) msg += (i ? ", " : "") + plan.applied[i];
  }
  if (!plan.need_restart.empty()) {
    msg += "; need a restart to change:";
    for (const auto& k : plan.need_restart) msg += " " + k;
  }
  log::info(msg);
  systemd_.notify("READY=1");
}

}  // namespace ctsync

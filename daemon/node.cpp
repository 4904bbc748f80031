#include "node.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config_parser.hpp"
#include "config/environment_check.hpp"
#include "control/expectation_json.hpp"
#include "control/flow_json.hpp"
#include "core/copy_completion_wait.hpp"
#include "ctsync/flow_format.hpp"
#include "log.hpp"

namespace ctsync {

namespace asio = boost::asio;

namespace {

std::string_view role_name(v1::Role r) {
  switch (r) {
    case v1::ROLE_ACTIVE:
      return "active";
    case v1::ROLE_BACKUP:
      return "backup";
    case v1::ROLE_FAULT:
      return "fault";
    default:
      return "unknown";
  }
}

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

long read_proc_number(const char* path) {
  long v = -1;
  std::ifstream(path) >> v;
  return v;
}

}  // namespace

Node::Node(Config config)
    : config_(std::move(config)),
      signals_(io_),
      watchdog_timer_(io_),
      purge_timer_(io_),
      events_coalesce_timer_(io_),
      accounting_timer_(io_),
      state_(config_.state_dir),
      metrics_timer_(io_) {}

Node::~Node() {
  if (dump_requester_.joinable()) dump_requester_.join();
  if (events_fd_) events_fd_->release();
  if (dump_fd_) dump_fd_->release();
  if (expectation_events_fd_) expectation_events_fd_->release();
}

Result<std::unique_ptr<Node>> Node::create(Config config) {
  std::unique_ptr<Node> n(new Node(std::move(config)));
  if (auto r = n->open(); !r) return r.error();
  return n;
}

Result<void> Node::open() {
  const auto wall_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  auto boot = state_.next_boot_id(wall_ms);
  if (!boot) return boot.error();
  boot_id_ = *boot;
  roles_ = RoleMachine(config_.cache_mode, state_.load_role().value_or(v1::ROLE_BACKUP));

  WriterConfig wc;
  wc.batch_messages = std::min<std::size_t>(config_.commit_batch, 1000);
  wc.options.tcp_be_liberal = !config_.tcp_window_tracking;
  auto writer = ConntrackWriter::open(wc);
  if (!writer) return writer.error();
  writer_ = std::make_unique<ConntrackWriter>(std::move(*writer));

  EventsConfig ec;
  ec.receive_buffer = config_.netlink_buffer;
  ec.receive_buffer_max = config_.netlink_buffer_max;
  ec.ignore_port_id = writer_->port_id();
  auto events = ConntrackEvents::open(ec);
  if (!events) return events.error();
  events_ = std::make_unique<ConntrackEvents>(std::move(*events));
  events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, events_->fd());

  auto dump = ConntrackDump::open();
  if (!dump) return dump.error();
  dump_ = std::make_unique<ConntrackDump>(std::move(*dump));
  dump_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, dump_->fd());

  if (config_.sync_expectations) {
    auto ke = KernelExpectations::open();
    if (!ke) return ke.error();
    kernel_expectations_ = std::make_unique<KernelExpectations>(std::move(*ke));
    auto reader = ConntrackReader::open();
    if (!reader) return reader.error();
    reader_ = std::make_unique<ConntrackReader>(std::move(*reader));
    auto ee = ExpectationEvents::open(kernel_expectations_->port_id());
    if (!ee) return ee.error();
    expectation_events_ = std::make_unique<ExpectationEvents>(std::move(*ee));
    expectation_events_fd_ =
        std::make_unique<asio::posix::stream_descriptor>(io_, expectation_events_->fd());
  }

  auto keys = load_keys(config_);
  if (!keys) return keys.error();
  sealer_ = std::make_unique<DatagramSealer>(std::move(*keys), config_.mtu);

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
  eng.heartbeat_interval = config_.heartbeat_interval;
  eng.peer_timeout = config_.peer_timeout;
  eng.sender.window_packets = config_.window_packets;

  const bool v6 = config_.multicast_group ? config_.multicast_group->family == Family::ipv6
                                          : config_.peers.front().first.family == Family::ipv6;
  eng.max_packet_bytes = config_.mtu - (v6 ? 48 : 28) - DatagramSealer::overhead;

  injector_ =
      std::make_unique<DirectInjector>(io_, *writer_, config_.commit_batch, config_.direct_refresh);
  PeerFlowObserver* observer = config_.cache_mode == CacheMode::direct ? injector_.get() : nullptr;
  engine_ = std::make_unique<SyncEngine>(eng, observer, Clock::now());
  injector_->set_lookup([this](std::uint32_t peer, const FlowKey& key) -> const Flow* {
    auto it = engine_->peers().find(peer);
    return it == engine_->peers().end() ? nullptr : it->second->table().find_flow(key);
  });

  auto transport = SyncTransport::open(io_, tc, *sealer_, engine_->counters());
  if (!transport) return transport.error();
  transport_ = std::move(*transport);
  link_ = std::make_unique<ReplicationLink>(io_, *engine_, *transport_);

  auto control = ControlServer::open(
      io_, config_.control_socket, [this](const ControlRequest& r, ControlServer::Respond respond) {
        on_control(r, std::move(respond));
      });
  if (!control) return control.error();
  control_ = std::move(*control);
  if (!config_.metrics_listen.empty()) {
    auto metrics = MetricsExporter::open(config_.metrics_listen, CTSYNC_VERSION);
    if (!metrics) return metrics.error();
    metrics_ = std::move(*metrics);
  }
  accounting_enabled_ = read_proc_number("/proc/sys/net/netfilter/nf_conntrack_acct") > 0;
  apply_filter();
  return {};
}

void Node::apply_filter() {
  FilterRules rules = config_.filter;
  // The peers' sync datagrams are conntrack entries too; never replicate them.
  if (config_.multicast_group) {
    const auto& g = *config_.multicast_group;
    rules.ignore_addresses.push_back(
        Cidr{g.family, g.address, static_cast<std::uint8_t>(g.family == Family::ipv4 ? 32 : 128)});
  }
  filter_ = FlowFilter(rules, interface_addresses());
}

int Node::run() {
  start();
  io_.run();
  return exit_code_;
}

void Node::stop() {
  if (stopping_) return;
  stopping_ = true;
  notify("STOPPING=1");
  log::info("stopping");
  if (commit_job_) commit_job_->cancel();
  link_->stop();
  control_.reset();
  signals_.cancel();
  watchdog_timer_.cancel();
  purge_timer_.cancel();
  events_coalesce_timer_.cancel();
  accounting_timer_.cancel();
  metrics_timer_.cancel();
  injector_->set_enabled(false);
  boost::system::error_code ec;
  events_fd_->cancel(ec);
  dump_fd_->cancel(ec);
  if (expectation_events_fd_) expectation_events_fd_->cancel(ec);
  io_.stop();
}

void Node::start() {
  log::info("node " + std::to_string(config_.node_id) + " boot " + std::to_string(boot_id_) +
            ", role " + std::string(role_name(roles_.role())) + ", cache mode " +
            std::string(cache_mode_name(config_.cache_mode)) + ", sync " + transport_->describe());
  if (!accounting_enabled_) {
    log::info(
        "nf_conntrack_acct is off in this namespace: traffic accounting sees no bytes or packets "
        "(sysctl -w net.netfilter.nf_conntrack_acct=1 turns it on)");
  }
  if (auto e = kernel_events_problem(); !e.empty()) log::error(e);
  wait_signals();
  wait_events();
  if (expectation_events_) wait_expectation_events();
  link_->start();
  start_watchdog();
  publish_metrics();
  schedule_accounting();
  // Peers' tables do not depend on ours: ask for them first. Our own dump comes after, posted
  // behind the request, because asking for a dump already makes the kernel walk its table
  // (the whole host's, other namespaces' entries included: tens of milliseconds when large).
  engine_->request_resync(Clock::now());
  link_->kick();
  // The kernel's table first, so that what we announce and what we report is complete.
  asio::post(io_, [this] { start_initial_pass(); });
}

void Node::start_initial_pass() {
  start_local_pass([this] {
    reload_expectations();
    engine_->set_role(roles_.role(), Clock::now());
    if (roles_.role() == v1::ROLE_ACTIVE && state_.commit_pending()) {
      recover_interrupted_commit();
    } else if (roles_.role() == v1::ROLE_ACTIVE) {
      engine_->announce_table();
    } else {
      if (config_.cache_mode == CacheMode::direct) start_direct_injection();
    }
    link_->kick();
    started_ = true;
    notify("READY=1\nSTATUS=" + std::string(role_name(roles_.role())) + ", " +
           std::to_string(engine_->local().size()) + " local flows");
    log::info("ready: " + std::to_string(engine_->local().size()) + " flows in the kernel table");
  });
}

// ---- expectations ----

void Node::wait_expectation_events() {
  expectation_events_fd_->async_wait(
      asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        const auto r = expectation_events_->read([this](bool created, const Expectation& e) {
          if (created) {
            ++kernel_.expectation_events_new;
            engine_->local_expectation_upsert(e);
            reread_master_soon(e.master);
          } else {
            ++kernel_.expectation_events_destroy;
            engine_->local_expectation_erase(e.key());
          }
        });
        kernel_.events_undecodable += r.undecodable;
        if (r.overrun) {
          ++kernel_.expectation_overruns;
          log::warning("netlink overrun on expectation events; reading the table again");
          reload_expectations();
        }
        link_->kick();
        wait_expectation_events();
      });
}

// A NAT helper that announces an expectation often rewrites the packet too (PORT, EPRT),
// which shifts the master's sequence numbers; the kernel sends no event for that, so the
// master is read back once the packet has been through.
void Node::reread_master_soon(const FlowKey& master) {
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
  timer->async_wait([this, timer, master](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const auto* known = engine_->local().find(master);
    if (known == nullptr) return;
    auto now = reader_->get(master);
    if (!now) {
      log::debug("reading back " + to_string(master.original) + ": " + now.error().message);
      return;
    }
    if (!*now) return;
    Flow merged = known->flow;
    merge_fields(merged, **now, field::status | field::seq_adjust);
    engine_->local_upsert(merged);
    link_->kick();
  });
}

void Node::reload_expectations() {
  if (!kernel_expectations_) return;
  auto all = kernel_expectations_->dump();
  if (!all) {
    log::error("expectation dump failed: " + all.error().message);
    return;
  }
  engine_->replace_local_expectations(*all);
}

void Node::commit_expectations() {
  if (!kernel_expectations_) return;
  std::size_t created = 0, failed = 0;
  for (const PeerReplica* p : engine_->commit_sources()) {
    for (const auto& [key, entry] : p->expectations()) {
      if (auto r = kernel_expectations_->create(entry.expectation); r) {
        ++created;
      } else {
        ++failed;
        // Typically the master is gone (ENOENT) or its helper is not loaded here.
        log::warning("commit: expectation not created: " + r.error().message);
      }
    }
  }
  kernel_.expectations_created += created;
  kernel_.expectations_failed += failed;
  if (created + failed != 0) {
    log::info("commit: " + std::to_string(created) + " expectations created, " +
              std::to_string(failed) + " failed");
  }
}

// The injector sees changes only while enabled; what peers sent before (a bulk that arrived
// during our start-up dump, say) goes in now.
void Node::start_direct_injection() {
  injector_->set_enabled(true);
  for (const auto& [id, p] : engine_->peers()) {
    for (const auto& e : p->table()) injector_->peer_flow_upserted(id, e.flow);
  }
}

// ---- kernel events ----

void Node::wait_events() {
  events_fd_->async_wait(
      asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        const TimePoint now = Clock::now();
        const bool burst = on_events();
        const bool frequent = now - last_events_wake_ < events_coalesce;
        last_events_wake_ = now;
        if (!burst && !frequent) {
          wait_events();
          return;
        }
        // A busy table: let events gather for a moment rather than wake for every few of
        // them (the wake-ups cost more than the events). The socket buffer holds tens of
        // milliseconds of a storm, so a millisecond risks no overrun; a quiet table, whose
        // wake-ups are further apart, sees no delay.
        events_coalesce_timer_.expires_after(events_coalesce);
        events_coalesce_timer_.async_wait([this](const boost::system::error_code& e) {
          if (!e && !stopping_) wait_events();
        });
      });
}

// Returns true when the events came in a burst worth coalescing.
bool Node::on_events() {
  const auto handler = [this](ConntrackEventType t, const Flow& f, std::uint16_t present,
                              const FlowCounters& c) { on_event(t, f, present, c); };
  // Bounded per turn so timers and the network get their share during an event storm.
  const auto r = events_->read(handler, 32);
  kernel_.events_undecodable += r.undecodable;
  if (r.overrun) on_overrun();
  link_->kick();
  return r.drained && !r.overrun && r.events >= 32;
}

void Node::on_event(ConntrackEventType type, const Flow& flow, std::uint16_t present,
                    const FlowCounters& counters) {
  switch (type) {
    case ConntrackEventType::created:
      ++kernel_.events_new;
      break;
    case ConntrackEventType::updated:
      ++kernel_.events_update;
      break;
    case ConntrackEventType::destroyed:
      ++kernel_.events_destroy;
      break;
  }
  const auto* known = engine_->local().find(flow.key);
  const bool has_counters = (present & field::counters) != 0;
  if (type == ConntrackEventType::destroyed) {
    // The final counters: whatever grew since the last periodic dump counted them.
    if (accounting_enabled_ && has_counters && (known || !filter_.ignored(flow)))
      traffic_.count(flow, counters, known ? &known->meta.counters : nullptr);
    engine_->local_erase(flow.key);
    return;
  }
  Flow merged = known ? known->flow : Flow{};
  merge_fields(merged, flow, present);
  if (filter_.ignored(merged)) {
    ++kernel_.events_ignored;
    if (known) engine_->local_erase(flow.key);  // it became ignorable (state, mark)
    return;
  }
  // Growth is counted wherever counters are seen, so storing them never loses any.
  if (accounting_enabled_ && has_counters)
    traffic_.count(merged, counters, known ? &known->meta.counters : nullptr);
  engine_->local_upsert(merged, has_counters ? &counters : nullptr);
}

void Node::on_overrun() {
  ++kernel_.overruns;
  // What is still queued is older than the events we lost; applied after the dump that
  // repairs the loss, it would roll flows back.
  const std::size_t dropped = events_->discard_queued();
  const int size = events_->grow_buffer();
  log::warning("netlink event overrun: events were lost; " + std::to_string(dropped) +
               " queued events discarded, buffer now " + std::to_string(size) +
               " bytes; resyncing from a dump");
  start_local_pass({});
}

void Node::start_local_pass(std::function<void()> then) {
  if (then) pass_waiters_.push_back(std::move(then));
  if (pass_running_) {
    pass_again_ = true;
    return;
  }
  pass_running_ = true;
  pass_again_ = false;
  engine_->begin_local_pass();
  // The request alone makes the kernel walk its whole hash table, every namespace's entries
  // included, until it has a first chunk of ours: tens of milliseconds with a few hundred
  // thousand entries, most of them not ours (a backup starting beside a busy table). It runs
  // beside the loop, which meanwhile goes on receiving peers' bulks and kernel events.
  if (dump_requester_.joinable()) dump_requester_.join();
  dump_requester_ = std::thread([this] {
    auto r = dump_->start(DumpFilter{});
    asio::post(io_, [this, r = std::move(r)] {
      if (stopping_) return;
      if (!r) {
        log::error("kernel dump failed to start: " + r.error().message);
        pass_running_ = false;
        return;
      }
      continue_local_pass();
    });
  });
}

void Node::continue_local_pass() {
  dump_fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec || stopping_) return;
                         auto done = dump_->read_some(
                             [this](const Flow& f, const FlowCounters& c) {
                               if (filter_.ignored(f)) return;
                               if (accounting_enabled_) {
                                 const auto* known = engine_->local().find(f.key);
                                 traffic_.count(f, c, known ? &known->meta.counters : nullptr);
                               }
                               engine_->local_refresh(f, c);
                             },
                             8);
                         link_->kick();
                         if (done && !*done) {
                           continue_local_pass();
                           return;
                         }
                         if (!done) log::error("kernel dump failed: " + done.error().message);
                         const std::size_t swept = done ? engine_->end_local_pass() : 0;
                         kernel_.flows_swept += swept;
                         ++kernel_.resyncs;
                         pass_running_ = false;
                         if (pass_again_) {
                           start_local_pass({});
                           return;
                         }
                         auto waiters = std::move(pass_waiters_);
                         pass_waiters_.clear();
                         for (auto& w : waiters) w();
                       });
}

// ---- roles ----

void Node::apply_role(v1::Role role) {
  ++kernel_.role_changes;
  if (auto r = state_.save_role(role); !r)
    log::warning("cannot remember the role: " + r.error().message);
  engine_->set_role(role, Clock::now());
  notify("STATUS=" + std::string(role_name(role)));
  link_->kick();
}

void Node::commit(std::function<void(const WriteReport&)> done, bool everything_held) {
  // Snapshot of keys only: the values are read at write time, so changes that arrive during
  // the commit are written in their latest state and deleted flows are skipped.
  auto keys = std::make_shared<std::vector<std::pair<std::uint32_t, FlowKey>>>();
  if (config_.cache_mode == CacheMode::direct && !everything_held) {
    *keys = injector_->take_failed();
  } else {
    std::vector<std::pair<std::uint32_t, FlowKey>> related;
    const auto sources = everything_held ? engine_->complete_peers() : engine_->commit_sources();
    for (const PeerReplica* p : sources) {
      for (const auto& e : p->table()) {
        // Masters before the connections their helpers expected.
        (e.flow.status & status::expected ? related : *keys).emplace_back(p->node_id(), e.flow.key);
      }
    }
    keys->insert(keys->end(), related.begin(), related.end());
  }
  auto cursor = std::make_shared<std::size_t>(0);
  auto source = [this, keys, cursor](Flow& out) {
    while (*cursor < keys->size()) {
      const auto& [peer, key] = (*keys)[(*cursor)++];
      auto it = engine_->peers().find(peer);
      if (it == engine_->peers().end()) continue;
      if (const Flow* f = it->second->table().find_flow(key)) {
        out = *f;
        return true;
      }
    }
    return false;
  };
  // Out of the event groups while we write: our own writes' events are of no use to us, and
  // with no listener the kernel does not build them at all, so a commit of many flows runs
  // at the kernel's ceiling. Events of real traffic meanwhile are read back by the local
  // pass that follows every commit.
  const bool paused = keys->size() >= config_.commit_batch && events_->pause().ok();
  log::debug("commit of " + std::to_string(keys->size()) + " flows" +
             (paused ? ", kernel events paused" : ""));
  commit_job_ = std::make_shared<KernelWriteJob>(
      io_, *writer_, KernelWriteJob::Mode::upsert, config_.commit_batch, source,
      [this, done, paused](const WriteReport& report) {
        commit_job_.reset();
        if (paused) {
          if (auto r = events_->resume(); !r)
            log::error("cannot subscribe to kernel events again: " + r.error().message);
        }
        ++kernel_.commits;
        auto& t = kernel_.commit_totals;
        t.total += report.total;
        t.created += report.created;
        t.updated += report.updated;
        t.replaced += report.replaced;
        t.failed += report.failed;
        for (const auto& [e, n] : report.failures) t.failures[e] += n;
        kernel_.last_commit = report;
        kernel_.commit_seconds.push_back(std::chrono::duration<double>(report.duration).count());
        commit_expectations();
        done(report);
      });
  commit_job_->start();
}

void Node::change_role(v1::Role target, ControlServer::Respond respond) {
  const RoleActions a = roles_.request(target);
  if (a.unchanged) {
    respond({true, "", "already " + std::string(role_name(target)) + "\n"});
    return;
  }
  log::info("role: " + std::string(role_name(target)));
  if (a.cancel_commit && commit_job_) commit_job_->cancel();
  if (a.flush_injections) injector_->flush();
  if (a.stop_injecting || target == v1::ROLE_ACTIVE) injector_->set_enabled(false);
  purge_timer_.cancel();
  apply_role(target);
  if (a.request_resync) engine_->request_resync(Clock::now());
  if (a.start_injecting) start_direct_injection();
  if (a.schedule_purge) schedule_purge();
  if (!a.commit) {
    respond({true, "", std::string(role_name(target)) + "\n"});
    return;
  }
  // Remembered until the commit is done: a daemon killed meanwhile redoes it on restart.
  if (auto r = state_.set_commit_pending(true); !r) log::warning(r.error().message);
  auto run_commit = [this, respond] {
    commit([this, respond](const WriteReport& report) {
      roles_.commit_done();
      (void)state_.set_commit_pending(false);
      log::info("commit: " + report.summary());
      // The kernel now holds the peers' flows and our traffic: read it back as ours, then
      // tell the peers.
      start_local_pass([this, respond, report] {
        reload_expectations();
        if (roles_.role() == v1::ROLE_ACTIVE) engine_->announce_table();
        link_->kick();
        respond({report.failed == 0, report.failed ? "commit incomplete: " + report.summary() : "",
                 "active; commit " + report.summary() + "\n"});
      });
    });
  };
  if (config_.commit_delay > Duration::zero()) {
    // Only for tests of the takeover race: stretch the window before the commit.
    auto t = std::make_shared<asio::steady_timer>(io_, config_.commit_delay);
    t->async_wait([t, run_commit](const boost::system::error_code&) { run_commit(); });
  } else {
    run_commit();
  }
}

void Node::schedule_purge() {
  purge_timer_.expires_after(config_.purge_after);
  purge_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) purge_stale_entries();
  });
}

void Node::purge_stale_entries() {
  if (roles_.role() == v1::ROLE_ACTIVE) return;
  if (pass_running_) {  // the dump socket is busy with a pass: soon after it
    purge_timer_.expires_after(std::chrono::milliseconds(100));
    purge_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) purge_stale_entries();
    });
    return;
  }
  // Like conntrackd -t: give the entries left from our time as active a short timeout, so
  // those without traffic here expire and any that still carry traffic survive.
  auto flows = std::make_shared<std::vector<Flow>>();
  auto r = dump_->run(DumpFilter{}, [&](const Flow& f, const FlowCounters&) {
    if (!filter_.ignored(f) && f.timeout > config_.purge_timeout) flows->push_back(f);
  });
  if (!r) {
    log::error("purge: kernel dump failed: " + r.error().message);
    return;
  }
  auto cursor = std::make_shared<std::size_t>(0);
  const std::uint32_t timeout = config_.purge_timeout;
  auto source = [flows, cursor, timeout](Flow& out) {
    if (*cursor >= flows->size()) return false;
    out = (*flows)[(*cursor)++];
    out.timeout = timeout;
    return true;
  };
  auto job = std::make_shared<KernelWriteJob>(
      io_, *writer_, KernelWriteJob::Mode::update, config_.commit_batch, source,
      [this](const WriteReport& report) {
        ++kernel_.purges;
        log::info("purge: stale entries from our time as active: " + report.summary());
      });
  job->start();
}

// A promotion's commit was cut short (the daemon was killed): our peers' flows were only
// partly written and our copy of them died with the process. Every peer, active or not, is
// asked for its table; when CopyCompletionWait says the copies are complete (or have stopped
// growing), the commit is done again from them, and the result announced. Requests are
// repeated only for `asking`: repeating them longer restarts bulks that are under way.
void Node::recover_interrupted_commit() {
  log::warning(
      "the last promotion's commit was interrupted: asking every peer for its table to redo it");
  const TimePoint requested = Clock::now();
  const Duration asking = std::max<Duration>(5 * config_.peer_timeout, seconds(3));
  engine_->request_handover(requested, asking);
  link_->kick();
  auto wait = std::make_shared<CopyCompletionWait>(
      requested, std::max<Duration>(asking, seconds(10)), seconds(3));
  auto timer = std::make_shared<asio::steady_timer>(io_);
  auto check = std::make_shared<std::function<void()>>();
  *check = [this, wait, timer, check] {
    const TimePoint now = Clock::now();
    bool all = engine_->peers().size() > 0;
    std::size_t flows = 0;
    for (const auto& [id, p] : engine_->peers()) {
      if (engine_->peer_up(*p, now) && !p->complete()) all = false;
      flows += p->table().size();
    }
    if (!wait->done(now, all, flows)) {
      timer->expires_after(milliseconds(100));
      timer->async_wait([check](const boost::system::error_code& ec) {
        if (!ec) (*check)();
      });
      return;
    }
    commit(
        [this](const WriteReport& report) {
          (void)state_.set_commit_pending(false);
          log::info("recovered commit: " + report.summary());
          start_local_pass([this] {
            engine_->announce_table();
            link_->kick();
          });
        },
        true);
    asio::post(io_, [check] { *check = nullptr; });  // break the cycle, once we are out of it
  };
  (*check)();
}

// ---- control ----

void Node::on_control(const ControlRequest& req, ControlServer::Respond respond) {
  switch (req.command) {
    case ControlCommand::status:
      respond({true, "", status_text(req.json)});
      return;
    case ControlCommand::stats:
      respond({true, "", stats_text(req.json)});
      return;
    case ControlCommand::flows:
      respond({true, "", flows_text(req)});
      return;
    case ControlCommand::expectations:
      respond({true, "", expectations_text(req)});
      return;
    case ControlCommand::promote:
      change_role(v1::ROLE_ACTIVE, std::move(respond));
      return;
    case ControlCommand::demote:
      change_role(v1::ROLE_BACKUP, std::move(respond));
      return;
    case ControlCommand::fault:
      change_role(v1::ROLE_FAULT, std::move(respond));
      return;
    case ControlCommand::commit:
      if (commit_job_) {
        respond({false, "a commit is already running", ""});
        return;
      }
      commit([this, respond](const WriteReport& r) {
        log::info("commit: " + r.summary());
        // Events were paused during the commit: read the kernel back.
        start_local_pass([respond, r] {
          respond({r.failed == 0, r.failed ? "commit incomplete: " + r.summary() : "",
                   "commit " + r.summary() + "\n"});
        });
      });
      return;
    case ControlCommand::flush:
      if (req.table == FlowTableChoice::external) {
        // Our copies of the peers' tables go; the active peer is asked for its table again.
        const std::size_t n = engine_->external_size();
        engine_->flush_peer_tables();
        engine_->request_resync(Clock::now());
        link_->kick();
        respond({true, "",
                 "external cache flushed: " + std::to_string(n) +
                     " flows; asked the peers for their tables\n"});
      } else {
        // Read the kernel table again instead of forgetting it: flows still in the kernel must
        // not be announced as deleted to the peers.
        start_local_pass([this, respond] {
          link_->kick();
          respond({true, "",
                   "internal cache rebuilt from the kernel: " +
                       std::to_string(engine_->local().size()) + " flows\n"});
        });
      }
      return;
    case ControlCommand::resync:
      engine_->request_resync(Clock::now());
      start_local_pass([this, respond] {
        link_->kick();
        respond({true, "",
                 "resynced from the kernel (" + std::to_string(engine_->local().size()) +
                     " flows); asked peers for their tables\n"});
      });
      return;
    case ControlCommand::bulk:
      // A backup announces nothing; its "table" would replace, at its peers, the copy of
      // what it served as active — the copy a promotion of theirs would commit.
      if (roles_.role() != v1::ROLE_ACTIVE) {
        respond({false, "not active: only the active node sends its table", ""});
        return;
      }
      engine_->announce_table();
      link_->kick();
      respond(
          {true, "", "sending " + std::to_string(engine_->local().size()) + " flows to peers\n"});
      return;
    case ControlCommand::ready: {
      const std::string why =
          started_ ? engine_->readiness_reason(Clock::now()) : "starting: reading the kernel table";
      respond({why.empty(), why, why.empty() ? "ready\n" : "not ready: " + why + "\n"});
      return;
    }
  }
}

std::string Node::status_text(bool json) const {
  const TimePoint now = Clock::now();
  const std::string why = started_ ? engine_->readiness_reason(now) : "starting";
  nlohmann::json j;
  j["node_id"] = config_.node_id;
  j["boot_id"] = boot_id_;
  j["role"] = std::string(role_name(roles_.role()));
  j["ready"] = why.empty();
  if (!why.empty()) j["not_ready_reason"] = why;
  j["cache_mode"] = std::string(cache_mode_name(config_.cache_mode));
  j["internal_flows"] = engine_->local().size();
  j["external_flows"] = engine_->external_size();
  j["commit_running"] = commit_job_ != nullptr;
  j["kernel_entries"] = read_proc_number("/proc/sys/net/netfilter/nf_conntrack_count");
  j["kernel_max"] = read_proc_number("/proc/sys/net/netfilter/nf_conntrack_max");
  j["transport"] = transport_->describe();
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& [id, p] : engine_->peers()) {
    nlohmann::json pj;
    pj["node_id"] = id;
    pj["up"] = engine_->peer_up(*p, now);
    pj["role"] = std::string(role_name(p->role()));
    pj["last_heard_s"] = std::chrono::duration<double>(now - p->last_heard()).count();
    pj["complete"] = p->complete();
    pj["in_sync"] = p->in_sync(now);
    pj["lag_packets"] = p->lag_packets();
    pj["flows"] = p->table().size();
    peers.push_back(pj);
  }
  j["peers"] = peers;
  if (kernel_.last_commit) j["last_commit"] = kernel_.last_commit->summary();
  if (json) return j.dump(2) + "\n";

  std::string s;
  s += "node " + std::to_string(config_.node_id) + " (boot " + std::to_string(boot_id_) +
       "): " + std::string(role_name(roles_.role())) + ", " +
       (why.empty() ? "ready" : "NOT READY: " + why) + "\n";
  s += "cache mode " + std::string(cache_mode_name(config_.cache_mode)) + "; sync " +
       transport_->describe() + "\n";
  s += "internal cache: " + std::to_string(engine_->local().size()) +
       " flows; external cache: " + std::to_string(engine_->external_size()) + " flows\n";
  s += "kernel table: " + j["kernel_entries"].dump() + " of " + j["kernel_max"].dump() +
       " entries\n";
  if (kernel_.last_commit) s += "last commit: " + kernel_.last_commit->summary() + "\n";
  if (commit_job_)
    s += "commit running: " + std::to_string(commit_job_->progress().total) +
         " flows written so far\n";
  for (const auto& pj : peers) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "peer %u: %s, %s, heard %.1f s ago, %s, %llu packets behind, %zu flows\n",
                  pj["node_id"].get<unsigned>(), pj["up"].get<bool>() ? "up" : "DOWN",
                  pj["role"].get<std::string>().c_str(), pj["last_heard_s"].get<double>(),
                  pj["in_sync"].get<bool>()
                      ? "in sync"
                      : (pj["complete"].get<bool>() ? "catching up" : "incomplete"),
                  static_cast<unsigned long long>(pj["lag_packets"].get<std::uint64_t>()),
                  pj["flows"].get<std::size_t>());
    s += line;
  }
  if (peers.empty()) s += "no peers heard yet\n";
  return s;
}

std::string Node::stats_text(bool json) const {
  const SyncCounters& c = engine_->counters();
  nlohmann::json j;
  j["kernel"] = {{"events_new", kernel_.events_new},
                 {"events_update", kernel_.events_update},
                 {"events_destroy", kernel_.events_destroy},
                 {"events_ignored", kernel_.events_ignored},
                 {"overruns", kernel_.overruns},
                 {"resyncs", kernel_.resyncs},
                 {"netlink_buffer", events_->buffer_size()},
                 {"commits", kernel_.commits}};
  j["sync"] = {{"datagrams_sent", c.datagrams_sent},
               {"datagrams_received", c.datagrams_received},
               {"bytes_sent", c.datagram_bytes_sent},
               {"bytes_received", c.datagram_bytes_received},
               {"retransmits", c.retransmits},
               {"gaps_detected", c.gaps_detected},
               {"gaps_repaired", c.gaps_repaired},
               {"gaps_unrepairable", c.gaps_unrepairable},
               {"resync_requests_sent", c.resync_requests_sent},
               {"bulks_started", c.bulks_started},
               {"bulks_completed", c.bulks_completed},
               {"digest_mismatches", c.digest_mismatches},
               {"messages_undecodable", c.decode_errors}};
  nlohmann::json drops;
  for (std::size_t i = 0; i < drop_reason_count; ++i) {
    drops[std::string(drop_reason_name(static_cast<DropReason>(i)))] = c.dropped[i];
  }
  j["dropped"] = drops;
  nlohmann::json msgs;
  for (std::size_t i = 0; i < message_type_count; ++i) {
    msgs[std::string(message_type_name(static_cast<MessageType>(i)))] = {
        {"sent", c.sent.messages[i]}, {"received", c.received.messages[i]}};
  }
  j["messages"] = msgs;
  if (json) return j.dump(2) + "\n";
  std::string s;
  for (const auto& [section, values] : j.items()) {
    s += section + ":\n";
    for (const auto& [k, v] : values.items()) s += "  " + k + " " + v.dump() + "\n";
  }
  return s;
}

std::string Node::expectations_text(const ControlRequest& req) const {
  std::string out;
  std::size_t n = 0;
  const std::size_t limit = req.limit.value_or(static_cast<std::size_t>(-1));
  auto emit = [&](const Expectation& e, std::uint32_t peer) {
    if (n++ >= limit) return;
    if (req.json) {
      nlohmann::json j = expectation_to_json(e);
      if (peer != 0) j["peer"] = peer;
      out += (n == 1 ? "[\n" : ",\n") + j.dump();
    } else {
      out += to_conntrack_string(e) + "\n";
    }
  };
  if (req.table == FlowTableChoice::external) {
    for (const auto& [id, p] : engine_->peers()) {
      for (const auto& [key, entry] : p->expectations()) emit(entry.expectation, id);
    }
  } else {
    for (const auto& [key, entry] : engine_->local_expectations()) emit(entry.expectation, 0);
  }
  if (req.json) out += n == 0 ? "[]\n" : "\n]\n";
  if (!req.json && !kernel_expectations_) {
    out += "# expectations are not synchronised (sync.expectations = false)\n";
  }
  return out;
}

std::string Node::flows_text(const ControlRequest& req) const {
  std::string out;
  std::size_t n = 0;
  const std::size_t limit = req.limit.value_or(static_cast<std::size_t>(-1));
  auto emit = [&](const Flow& f, std::uint32_t peer, const FlowCounters& counters) {
    if (n++ >= limit) return;
    if (req.json) {
      nlohmann::json j = flow_to_json(f, counters);
      if (peer != 0) j["peer"] = peer;
      out += (n == 1 ? "[\n" : ",\n") + j.dump();
    } else {
      out += to_conntrack_string(f, counters) + "\n";
    }
  };
  if (req.table == FlowTableChoice::external) {
    for (const auto& [id, p] : engine_->peers()) {
      for (const auto& e : p->table()) emit(e.flow, id, {});
    }
  } else {
    for (const auto& e : engine_->local()) emit(e.flow, 0, e.meta.counters);
  }
  if (req.json) out += n == 0 ? "[]\n" : "\n]\n";
  return out;
}

// ---- metrics and accounting ----

void Node::schedule_accounting() {
  // Without nf_conntrack_acct the counters are all zero: no point in reading them.
  if (!accounting_enabled_ || config_.accounting_interval == Duration::zero()) return;
  accounting_timer_.expires_after(config_.accounting_interval);
  accounting_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    start_local_pass({});  // live flows' counters; also reconciles the internal cache
    schedule_accounting();
  });
}

MetricsSnapshot Node::snapshot() {
  MetricsSnapshot s;
  const TimePoint now = Clock::now();
  s.events_new = kernel_.events_new;
  s.events_update = kernel_.events_update;
  s.events_destroy = kernel_.events_destroy;
  s.events_ignored = kernel_.events_ignored;
  s.overruns = kernel_.overruns;
  s.resyncs = kernel_.resyncs;
  s.netlink_buffer_bytes = static_cast<std::uint64_t>(events_->buffer_size());
  s.flows_internal = engine_->local().size();
  s.flows_external = engine_->external_size();
  s.expectations_internal = engine_->local_expectations().size();
  for (const auto& [id, p] : engine_->peers()) s.expectations_external += p->expectations().size();
  s.expectation_events_new = kernel_.expectation_events_new;
  s.expectation_events_destroy = kernel_.expectation_events_destroy;
  s.expectations_created = kernel_.expectations_created;
  s.expectations_failed = kernel_.expectations_failed;
  s.sync = engine_->counters();
  for (const auto& [id, p] : engine_->peers()) {
    s.peers.push_back({id, engine_->peer_up(*p, now), p->in_sync(now),
                       std::chrono::duration<double>(now - p->last_heard()).count(),
                       p->lag_packets(), p->table().size()});
  }
  s.role = roles_.role();
  s.role_changes = kernel_.role_changes;
  s.ready = started_ && engine_->ready(now);
  s.commit_seconds = std::move(kernel_.commit_seconds);
  kernel_.commit_seconds.clear();
  s.committed_created = kernel_.commit_totals.created;
  s.committed_updated = kernel_.commit_totals.updated;
  s.committed_replaced = kernel_.commit_totals.replaced;
  s.committed_failed = kernel_.commit_totals.failed;
  for (const auto& [e, n] : kernel_.commit_totals.failures) s.commit_failures[e] = n;
  s.kernel_entries = read_proc_number("/proc/sys/net/netfilter/nf_conntrack_count");
  s.kernel_max = read_proc_number("/proc/sys/net/netfilter/nf_conntrack_max");
  const DirectStats& d = injector_->stats();
  s.direct_injected = d.injected;
  s.direct_failed = d.failed;
  s.direct_refreshed = d.refreshed;
  s.direct_removed = d.removed;
  s.accounting_enabled = accounting_enabled_;
  s.traffic = traffic_;
  if (publishes_ % 5 == 0) {  // a walk over the whole table: not every second
    flows_by_state_.clear();
    for (const auto& e : engine_->local()) {
      const Flow& f = e.flow;
      const auto proto =
          TrafficAccounting::protocol_label(TrafficAccounting::protocol_index(f.protocol()));
      const std::string state =
          f.protocol() == proto::tcp ? std::string(tcp_state_name(f.tcp.state)) : "none";
      ++flows_by_state_[{std::string(family_name(f.family())), std::string(proto), state}];
    }
  }
  s.flows_by_state = flows_by_state_;
  return s;
}

void Node::publish_metrics() {
  if (!metrics_) return;
  metrics_->publish(snapshot());
  ++publishes_;
  metrics_timer_.expires_after(seconds(1));
  metrics_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) publish_metrics();
  });
}

// ---- systemd, signals, reload ----

void Node::notify(const std::string& state) const {
  ::sd_notify(0, state.c_str());
}

void Node::start_watchdog() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  const auto interval = std::chrono::microseconds(usec / 2);
  watchdog_timer_.expires_after(interval);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    notify("WATCHDOG=1");
    start_watchdog();
  });
}

void Node::wait_signals() {
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

void Node::reload() {
  notify("RELOADING=1");
  auto fresh = load_config(config_.path);
  if (!fresh) {
    log::error("reload failed, keeping the running configuration: " + fresh.error().message);
    notify("READY=1");
    return;
  }
  Config& n = *fresh;
  auto keys = load_keys(n);
  if (!keys) {
    log::error("reload failed, keeping the running configuration: " + keys.error().message);
    notify("READY=1");
    return;
  }
  std::vector<std::string> kept;
  auto same_address = [](const std::optional<FamilyAddress>& a,
                         const std::optional<FamilyAddress>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->family == b->family && a->address == b->address));
  };
  bool same_peers = n.peers.size() == config_.peers.size();
  for (std::size_t i = 0; same_peers && i < n.peers.size(); ++i) {
    same_peers = n.peers[i].first.address == config_.peers[i].first.address &&
                 n.peers[i].second == config_.peers[i].second;
  }
  if (n.node_id != config_.node_id) kept.push_back("node.id");
  if (n.state_dir != config_.state_dir) kept.push_back("node.state_dir");
  if (n.interface != config_.interface || n.port != config_.port || n.mtu != config_.mtu ||
      !same_peers || !same_address(n.multicast_group, config_.multicast_group) ||
      !same_address(n.bind, config_.bind) ||
      n.socket_receive_buffer != config_.socket_receive_buffer ||
      n.socket_send_buffer != config_.socket_send_buffer ||
      n.heartbeat_interval != config_.heartbeat_interval ||
      n.peer_timeout != config_.peer_timeout || n.window_packets != config_.window_packets) {
    kept.push_back("[sync] transport settings");
  }
  if (n.sync_expectations != config_.sync_expectations) kept.push_back("sync.expectations");
  if (n.cache_mode != config_.cache_mode) kept.push_back("cache.mode");
  if (n.direct_refresh != config_.direct_refresh) kept.push_back("cache.direct_refresh_s");
  if (n.metrics_listen != config_.metrics_listen) kept.push_back("metrics.listen");
  if (n.control_socket != config_.control_socket) kept.push_back("control.socket");
  if (n.netlink_buffer != config_.netlink_buffer ||
      n.netlink_buffer_max != config_.netlink_buffer_max ||
      n.tcp_window_tracking != config_.tcp_window_tracking ||
      n.accounting_interval != config_.accounting_interval) {
    kept.push_back("[kernel] settings");
  }
  sealer_->replace_keys(std::move(*keys));
  config_.log_level = n.log_level;
  log::set_level(n.log_level);
  config_.filter = n.filter;
  config_.keys = n.keys;
  config_.send_key_id = n.send_key_id;
  config_.commit_batch = n.commit_batch;
  config_.purge_after = n.purge_after;
  config_.purge_timeout = n.purge_timeout;
  apply_filter();
  std::string msg = "reloaded: log level, filters, keys, commit batch and purge settings";
  if (!kept.empty()) {
    msg += "; need a restart to change:";
    for (const auto& k : kept) msg += " " + k;
  }
  log::info(msg);
  notify("READY=1");
}

}  // namespace ctsync

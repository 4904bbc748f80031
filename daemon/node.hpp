#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "control/control_server.hpp"
#include "core/flow_filter.hpp"
#include "core/role_machine.hpp"
#include "core/sync_engine.hpp"
#include "core/traffic_accounting.hpp"
#include "direct_injector.hpp"
#include "kernel/conntrack_dump.hpp"
#include "kernel/conntrack_events.hpp"
#include "kernel/conntrack_reader.hpp"
#include "kernel/conntrack_writer.hpp"
#include "kernel/expectation_events.hpp"
#include "kernel/kernel_expectations.hpp"
#include "kernel_write_job.hpp"
#include "metrics/metrics_exporter.hpp"
#include "net/datagram_sealer.hpp"
#include "net/sync_transport.hpp"
#include "replication_link.hpp"
#include "state_store.hpp"

namespace ctsync {

// What the node counts about the kernel side (the engine counts the network side).
struct KernelCounters {
  std::uint64_t events_new = 0;
  std::uint64_t events_update = 0;
  std::uint64_t events_destroy = 0;
  std::uint64_t events_ignored = 0;  // filtered out by the configured rules
  std::uint64_t events_undecodable = 0;
  std::uint64_t overruns = 0;
  std::uint64_t resyncs = 0;      // kernel dumps that reconciled the internal cache
  std::uint64_t flows_swept = 0;  // found gone by a resync
  std::uint64_t role_changes = 0;
  std::uint64_t commits = 0;
  WriteReport commit_totals;  // summed over all commits
  std::optional<WriteReport> last_commit;
  std::vector<double> commit_seconds;  // durations not yet taken by the metrics exporter
  std::uint64_t purges = 0;
  std::uint64_t expectation_events_new = 0;
  std::uint64_t expectation_events_destroy = 0;
  std::uint64_t expectation_overruns = 0;
  std::uint64_t expectations_created = 0;  // by commits
  std::uint64_t expectations_failed = 0;
};

// One ctsyncd: builds every part from the configuration, owns the event loop, and joins
// kernel events, replication, roles, commits and the control socket.
class Node {
 public:
  static Result<std::unique_ptr<Node>> create(Config config);
  ~Node();

  // Runs until SIGTERM/SIGINT or stop(); returns the process exit code.
  int run();
  void stop();

  // For the metrics exporter and status output.
  const SyncEngine& engine() const { return *engine_; }
  const KernelCounters& kernel_counters() const { return kernel_; }
  KernelCounters& kernel_counters() { return kernel_; }
  const Config& config() const { return config_; }
  v1::Role role() const { return roles_.role(); }
  bool ready() const { return engine_->ready(Clock::now()); }
  int netlink_buffer() const { return events_->buffer_size(); }
  const DirectInjector* injector() const { return injector_.get(); }
  std::uint64_t boot_id() const { return boot_id_; }

 private:
  explicit Node(Config config);
  Result<void> open();
  void start();

  // Kernel events and dumps.
  void wait_events();
  bool on_events();
  void wait_expectation_events();
  void reload_expectations();
  void reread_master_soon(const FlowKey& master);
  // Writes the peers' expectations into the kernel after a commit wrote their masters.
  void commit_expectations();
  std::string expectations_text(const ControlRequest& req) const;
  void start_initial_pass();
  void start_direct_injection();
  void on_event(ConntrackEventType type, const Flow& flow, std::uint16_t present,
                const FlowCounters& counters);
  void on_overrun();
  void start_local_pass(std::function<void()> then);
  void continue_local_pass();

  // Roles.
  void change_role(v1::Role target, ControlServer::Respond respond);
  void apply_role(v1::Role role);
  // everything_held: commit every complete copy of every peer (recovery), not only the peers
  // seen active since we last were.
  void commit(std::function<void(const WriteReport&)> done, bool everything_held = false);
  void recover_interrupted_commit();
  void schedule_purge();
  void purge_stale_entries();

  // Control socket.
  void on_control(const ControlRequest& req, ControlServer::Respond respond);
  std::string status_text(bool json) const;
  std::string stats_text(bool json) const;
  std::string flows_text(const ControlRequest& req) const;

  // systemd and signals.
  void publish_metrics();
  MetricsSnapshot snapshot();
  void schedule_accounting();
  void notify(const std::string& state) const;
  void start_watchdog();
  void wait_signals();
  void reload();
  void apply_filter();

  Config config_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer purge_timer_;
  boost::asio::steady_timer events_coalesce_timer_;
  static constexpr Duration events_coalesce = std::chrono::milliseconds(1);
  TimePoint last_events_wake_{};
  boost::asio::steady_timer accounting_timer_;
  StateStore state_;
  std::uint64_t boot_id_ = 0;
  RoleMachine roles_{CacheMode::external, v1::ROLE_BACKUP};

  std::unique_ptr<ConntrackWriter> writer_;
  std::unique_ptr<ConntrackEvents> events_;
  std::unique_ptr<ConntrackDump> dump_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_fd_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> dump_fd_;
  // Only with sync.expectations.
  std::unique_ptr<KernelExpectations> kernel_expectations_;
  std::unique_ptr<ConntrackReader> reader_;
  std::unique_ptr<ExpectationEvents> expectation_events_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> expectation_events_fd_;
  std::unique_ptr<DatagramSealer> sealer_;
  std::unique_ptr<SyncTransport> transport_;
  std::unique_ptr<DirectInjector> injector_;
  std::unique_ptr<SyncEngine> engine_;
  std::unique_ptr<ReplicationLink> link_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsExporter> metrics_;
  boost::asio::steady_timer metrics_timer_;
  FlowFilter filter_;
  KernelCounters kernel_;
  TrafficAccounting traffic_;
  bool accounting_enabled_ = false;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> flows_by_state_;
  unsigned publishes_ = 0;

  bool pass_running_ = false;
  // Sends a pass's dump request (see start_local_pass); the dump socket is its alone until
  // it posts back.
  std::thread dump_requester_;
  bool pass_again_ = false;
  std::vector<std::function<void()>> pass_waiters_;
  std::shared_ptr<KernelWriteJob> commit_job_;
  bool started_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace ctsync

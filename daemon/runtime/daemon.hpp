#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>

#include "app/control_commands.hpp"
#include "app/direct_injector.hpp"
#include "app/failover_controller.hpp"
#include "app/kernel_counters.hpp"
#include "app/kernel_mirror.hpp"
#include "app/metrics_snapshot_builder.hpp"
#include "app/takeover_gate.hpp"
#include "control/control_server.hpp"
#include "core/config.hpp"
#include "core/sync_engine.hpp"
#include "kernel/netlink_kernel.hpp"
#include "kernel/packet_queue.hpp"
#include "metrics/metrics_exporter.hpp"
#include "net/datagram_sealer.hpp"
#include "net/replication_link.hpp"
#include "net/sync_transport.hpp"
#include "runtime/asio_scheduler.hpp"
#include "runtime/state_store.hpp"
#include "runtime/systemd_notifier.hpp"

namespace ctsync {

// The composition root: builds every part from the configuration, joins them on one event
// loop, and handles signals (SIGHUP reloads as ReloadPlan says). It decides nothing else.
class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> create(Config config);
  ~Daemon();

  // Runs until SIGTERM/SIGINT; returns the process exit code.
  int run();
  void stop();

 private:
  explicit Daemon(Config config);
  Result<void> open();
  void start();
  void schedule_accounting();
  void publish_metrics();
  void save_peer_marks();
  void log_refusals();
  void schedule_housekeeping();
  void wait_signals();
  void reload();
  FlowFilter make_filter() const;
  app::FailoverSettings failover_settings() const;
  HoldSettings hold_settings() const;

  Config config_;
  boost::asio::io_context io_;
  AsioScheduler loop_{io_};
  boost::asio::signal_set signals_{io_};
  SystemdNotifier systemd_{io_};
  StateStore state_;
  std::uint64_t boot_id_ = 0;
  app::KernelCounters counters_;

  std::unique_ptr<NetlinkKernel> kernel_;
  std::unique_ptr<DatagramSealer> sealer_;
  std::unique_ptr<SyncEngine> engine_;
  std::unique_ptr<app::DirectInjector> injector_;
  std::unique_ptr<SyncTransport> transport_;
  std::unique_ptr<ReplicationLink> link_;
  std::unique_ptr<PacketQueue> queue_;  // with [takeover] queue
  std::unique_ptr<app::TakeoverGate> gate_;
  std::unique_ptr<app::KernelMirror> mirror_;
  std::unique_ptr<app::FailoverController> failover_;
  std::unique_ptr<app::ControlCommands> commands_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsExporter> metrics_;
  std::unique_ptr<app::MetricsSnapshotBuilder> snapshots_;
  std::unique_ptr<ports::Timer> accounting_timer_;
  std::unique_ptr<ports::Timer> metrics_timer_;
  std::unique_ptr<ports::Timer> housekeeping_timer_;
  PeerMarks saved_peer_marks_;
  std::uint64_t refusals_logged_ = 0;
  bool started_ = false;
  bool stopping_ = false;
};

}  // namespace ctsync

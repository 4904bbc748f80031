#pragma once
#include <map>
#include <string>
#include <tuple>

#include "app/direct_injector.hpp"
#include "app/failover_controller.hpp"
#include "app/kernel_counters.hpp"
#include "app/kernel_mirror.hpp"
#include "core/sync_engine.hpp"
#include "metrics/metrics_snapshot.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"

namespace ctsync::app {

// Gathers the numbers the metrics exporter publishes, on the loop's thread, once a second.
class MetricsSnapshotBuilder {
 public:
  struct Parts {
    ports::Scheduler& loop;
    ports::KernelPort& kernel;
    const SyncEngine& engine;
    const KernelMirror& mirror;
    const FailoverController& failover;
    const DirectInjector& injector;
    KernelCounters& counters;
  };
  explicit MetricsSnapshotBuilder(Parts parts) : p_(parts) {}

  // `started`: the first kernel read is over.
  MetricsSnapshot build(bool started);

 private:
  Parts p_;
  unsigned builds_ = 0;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> flows_by_state_;
};

}  // namespace ctsync::app

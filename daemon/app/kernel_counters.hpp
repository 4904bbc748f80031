#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/write_report.hpp"

namespace ctsync::app {

// What the daemon counts about the kernel side (the engine counts the network side).
struct KernelCounters {
  std::uint64_t events_new = 0;
  std::uint64_t events_update = 0;
  std::uint64_t events_destroy = 0;
  std::uint64_t events_ignored = 0;  // filtered out by the configured rules
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

}  // namespace ctsync::app

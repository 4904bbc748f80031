#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/write_report.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"

namespace ctsync::app {

// Writes many flows to the kernel in batches, one batch per turn of the event loop, so that
// heartbeats, acks and kernel events keep flowing during a commit of a million entries.
class KernelWriteJob : public std::enable_shared_from_this<KernelWriteJob> {
 public:
  enum class Mode { upsert, update };
  using Source = std::function<bool(Flow&)>;  // the next flow, or false when done
  using Done = std::function<void(const WriteReport&)>;

  KernelWriteJob(ports::Scheduler& loop, ports::KernelPort& kernel, Mode mode, std::size_t batch,
                 Source source, Done done);
  void start();
  void cancel() { cancelled_ = true; }
  const WriteReport& progress() const { return report_; }

 private:
  void step();

  ports::Scheduler& loop_;
  ports::KernelPort& kernel_;
  Mode mode_;
  std::size_t batch_;
  Source source_;
  Done done_;
  WriteReport report_;
  TimePoint started_{};
  bool cancelled_ = false;
  std::vector<Flow> chunk_;
  std::vector<WriteResult> results_;
  std::vector<int> errors_;
};

// Writes a batch with a result per flow; a failure of the whole batch (the socket, say)
// counts against every flow in it.
void write_batch(ports::KernelPort& kernel, KernelWriteJob::Mode mode, std::span<const Flow> flows,
                 std::vector<WriteResult>& results, std::vector<int>& errors);

}  // namespace ctsync::app

#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "app/kernel_counters.hpp"
#include "core/commit_plan.hpp"
#include "core/flow_filter.hpp"
#include "core/sync_engine.hpp"
#include "core/traffic_accounting.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"
#include "ports/sync_link.hpp"

namespace ctsync::app {

// Keeps the internal cache equal to the kernel's table: applies its events, runs passes over
// the whole table (at start, after an overrun, for accounting, on request) that sweep what
// vanished unseen, follows expectations, and runs the purge after stepping down as a pass of
// its own. The dump is one at a time: passes queue, and requests for a local pass while one
// waits are merged into it. Nothing here copies the table.
class KernelMirror final : ports::EventSink, ports::DumpSink, ports::ExpectationSink {
 public:
  KernelMirror(ports::KernelPort& kernel, ports::Scheduler& loop, SyncEngine& engine,
               ports::SyncLink& link, KernelCounters& counters);
  ~KernelMirror() override;

  void start();
  void set_filter(FlowFilter filter) { filter_ = std::move(filter); }
  void set_write_batch(std::size_t n) { batch_ = n; }
  bool accounting() const { return accounting_; }
  const TrafficAccounting& traffic() const { return traffic_; }

  // Reads the whole table into the internal cache; `then` runs when the pass is over.
  void pass(std::function<void()> then = {});
  bool pass_running() const { return current_ != Pass::none; }
  // Gives the entries left from our time as active a short timeout (see purge_write).
  void purge(PurgePlan plan, std::function<void(const WriteReport&)> done);
  void reload_expectations();

 private:
  enum class Pass { none, local, purge };

  void on_event(ports::EventType type, const Flow& flow, std::uint16_t present,
                const FlowCounters& counters) override;
  void on_overrun() override;
  void on_events_read() override { link_.kick(); }
  void on_flow(const Flow& flow, const FlowCounters& counters) override;
  void on_chunk_end() override;
  void on_dump_end(Result<void> outcome) override;
  void on_expectation(bool created, const Expectation& e) override;
  void on_expectation_overrun() override;

  void next_pass();
  void reread_master_soon(const FlowKey& master);
  void reread_due();
  void write_purge_chunk();

  ports::KernelPort& kernel_;
  ports::Scheduler& loop_;
  SyncEngine& engine_;
  ports::SyncLink& link_;
  KernelCounters& counters_;
  FlowFilter filter_;
  TrafficAccounting traffic_;
  bool accounting_ = false;
  std::size_t batch_ = 2000;

  Pass current_ = Pass::none;
  bool local_wanted_ = false;                         // a local pass waits for the dump
  std::vector<std::function<void()>> local_waiters_;  // of the waiting local pass
  std::vector<std::function<void()>> running_waiters_;
  struct PurgeRequest {
    PurgePlan plan;
    std::function<void(const WriteReport&)> done;
  };
  std::deque<PurgeRequest> purges_;
  PurgeRequest purge_;  // the running one
  WriteReport purge_report_;
  std::vector<Flow> purge_chunk_;
  std::vector<WriteResult> results_;
  std::vector<int> errors_;

  // A NAT helper's rewrite shifts its master's sequence numbers without an event: masters are
  // read back shortly after an expectation appears.
  std::deque<std::pair<TimePoint, FlowKey>> rereads_;
  std::unique_ptr<ports::Timer> reread_timer_;
};

}  // namespace ctsync::app

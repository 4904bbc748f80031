#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/sync_engine.hpp"
#include "core/takeover_hold.hpp"
#include "ports/kernel_port.hpp"
#include "ports/packet_queue_port.hpp"
#include "ports/scheduler.hpp"

namespace ctsync::app {

// The gate packets pass through on a backup and during a takeover: it listens on the packet
// queue, finds each packet's flow in the peers' copies (by original or reply tuple), writes
// the flows that only a peer's copy holds into the kernel as their packets arrive, and lets
// the packets go once their flow is there. TakeoverHold decides; this carries it out.
class TakeoverGate final : ports::PacketSink {
 public:
  // Whether this node's kernel holds a peer's flow already. The internal cache answers for
  // flows the kernel reported; our own writes raise no events we read, so direct mode's
  // injector answers for what it wrote.
  using InKernel = std::function<bool(std::uint32_t peer, const FlowKey&)>;

  TakeoverGate(ports::PacketQueuePort* queue, ports::KernelPort& kernel, ports::Scheduler& loop,
               SyncEngine& engine, HoldSettings settings, std::uint32_t purge_timeout);
  ~TakeoverGate() override;

  bool configured() const { return queue_ != nullptr; }
  void set_in_kernel(InKernel f) { in_kernel_ = std::move(f); }
  // Starts listening (a backup, a node taking over). Idempotent.
  void open();
  // Lets everything held go and stops listening: the node is active and its commit done.
  void close();
  bool listening() const { return queue_ != nullptr && queue_->listening(); }
  std::string describe() const { return queue_ ? queue_->describe() : "none"; }

  // A promotion arrived: what was written early belongs to it.
  void promoted() { hold_.promoted(); }
  // Stepped down: the next takeover starts afresh.
  void reset() { hold_.reset(); }
  void apply(const HoldSettings& s, std::uint32_t purge_timeout);

  // The commit skips flows written on demand: their kernel entries carry live state.
  bool written_on_demand(const FlowKey& key) const { return hold_.written_on_demand(key); }
  const TakeoverHold& hold() const { return hold_; }
  std::uint64_t overruns() const { return overruns_; }

 private:
  void on_packet(std::uint32_t id, std::span<const std::uint8_t> packet) override;
  void on_packets_read() override;
  void on_overrun() override { ++overruns_; }

  // The peer flow a packet with tuple `t` belongs to, and whose copy holds it.
  std::pair<std::uint32_t, std::optional<Flow>> peer_flow(const Tuple& t) const;
  std::optional<Flow> peer_flow(const FlowKey& key) const;
  void release(const std::vector<std::uint32_t>& ids);
  void on_deadline();
  void arm();

  ports::PacketQueuePort* queue_;
  ports::KernelPort& kernel_;
  ports::Scheduler& loop_;
  SyncEngine& engine_;
  TakeoverHold hold_;
  std::uint32_t purge_timeout_;
  std::unique_ptr<ports::Timer> timer_;
  InKernel in_kernel_;
  std::vector<Flow> to_write_;  // flows whose first packet arrived in this read
  std::vector<WriteResult> results_;
  std::vector<int> errors_;
  std::uint64_t overruns_ = 0;
};

}  // namespace ctsync::app

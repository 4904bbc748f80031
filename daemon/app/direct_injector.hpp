#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/peer_flow_observer.hpp"
#include "core/refresh_schedule.hpp"
#include "core/sync_engine.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"

namespace ctsync::app {

struct DirectStats {
  std::uint64_t injected = 0;
  std::uint64_t removed = 0;
  std::uint64_t refreshed = 0;
  std::uint64_t failed = 0;
  std::map<int, std::uint64_t> failures;
};

// Direct cache mode: a backup writes its peers' flows into its own kernel as they arrive, so
// a failover finds them there already. Changes are coalesced and written in batches on the
// event loop; short-lived entries are written again on RefreshSchedule's plan.
class DirectInjector : public PeerFlowObserver {
 public:
  using Lookup = std::function<std::optional<Flow>(std::uint32_t peer, const FlowKey&)>;

  DirectInjector(ports::Scheduler& loop, ports::KernelPort& kernel, std::size_t batch,
                 Duration refresh_tick);

  void set_lookup(Lookup lookup) { lookup_ = std::move(lookup); }
  // Another peer whose copy holds the key (0: none). With three nodes or more, two copies can
  // hold one connection (the node that crashed and the one that took over from it): a flow
  // leaving one of them stays in the kernel, as the other has it.
  using OtherHolder = std::function<std::uint32_t(std::uint32_t except_peer, const FlowKey&)>;
  void set_other_holder(OtherHolder holder) { other_holder_ = std::move(holder); }
  // Both of the above, from the engine's copies of its peers.
  void read_copies_of(const SyncEngine& engine);
  // Only a backup injects; an active node's kernel belongs to its own traffic.
  void set_enabled(bool on);
  bool enabled() const { return enabled_; }
  void set_batch(std::size_t batch) { batch_ = batch; }

  void peer_flow_upserted(std::uint32_t peer, const Flow& flow) override;
  void peer_flow_erased(std::uint32_t peer, const Flow& flow) override;

  // Writes everything queued now.
  void flush();
  // Flows whose last injection failed (a promote retries them), and forgets them.
  std::vector<std::pair<std::uint32_t, FlowKey>> take_failed();
  std::size_t pending() const { return pending_.size(); }
  // Whether the peer's flow is in the kernel as far as we know: we have injected (a promotion
  // stops the injector after flushing it, and what it wrote stays), nothing is queued for it,
  // its last write did not fail.
  bool has_written(std::uint32_t peer, const FlowKey& key) const {
    const Key k{peer, key};
    return ever_enabled_ && pending_.count(k) == 0 && failed_.count(k) == 0;
  }
  const DirectStats& stats() const { return stats_; }

 private:
  struct Key {
    std::uint32_t peer;
    FlowKey key;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return hash_key(k.key) ^ k.peer; }
  };
  void schedule_flush();
  void on_tick();

  ports::Scheduler& loop_;
  ports::KernelPort& kernel_;
  std::size_t batch_;
  std::unique_ptr<ports::Timer> timer_;
  Lookup lookup_;
  OtherHolder other_holder_;
  bool enabled_ = false;
  bool ever_enabled_ = false;
  bool flush_posted_ = false;
  std::unordered_map<Key, bool, KeyHash> pending_;  // true: upsert, false: remove
  std::deque<Key> order_;
  std::unordered_map<Key, int, KeyHash> failed_;
  RefreshSchedule<Key> refresh_;
  DirectStats stats_;
  std::vector<WriteResult> results_;  // scratch for write_batch
  std::vector<int> errors_;
  // Cleared when the injector goes away, so a posted flush finds it gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ctsync::app

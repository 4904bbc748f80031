#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/direct_injector.hpp"
#include "app/failover_controller.hpp"
#include "app/kernel_mirror.hpp"
#include "fake_kernel.hpp"
#include "fake_queue.hpp"
#include "sim_scheduler.hpp"

namespace ctsync::test {

inline EngineConfig engine_config(std::uint32_t id, std::uint64_t boot) {
  EngineConfig c;
  c.node_id = id;
  c.boot_id = boot;
  c.max_packet_bytes = 1400;
  return c;
}

// One ctsyncd's upper half on a fake kernel, as the composition root joins it. The kernel
// and the state directory outlive a restart (they are the machine's); the rest is rebuilt.
struct FakeNode {
  struct Machine {
    explicit Machine(SimScheduler& loop) : kernel(loop), queue(kernel) {}
    FakeKernel kernel;
    FakeQueue queue;
    FakeState state;
  };

  FakeNode(SimScheduler& sim, Machine& m, std::uint32_t id, app::FailoverSettings s,
           HoldSettings hold = {})
      : loop(sim), machine(m) {
    auto boot = m.state.next_boot_id(0);
    injector = std::make_unique<app::DirectInjector>(loop, m.kernel, s.commit_batch, seconds(10));
    engine = std::make_unique<SyncEngine>(engine_config(id, *boot),
                                          s.mode == CacheMode::direct ? injector.get() : nullptr,
                                          loop.now());
    injector->read_copies_of(*engine);
    gate = std::make_unique<app::TakeoverGate>(&m.queue, m.kernel, loop, *engine, hold,
                                               s.purge_timeout);
    gate->set_in_kernel([this](std::uint32_t peer, const FlowKey& key) {
      return injector->has_written(peer, key);
    });
    mirror = std::make_unique<app::KernelMirror>(m.kernel, loop, *engine, link, counters);
    mirror->set_write_batch(s.commit_batch);
    failover = std::make_unique<app::FailoverController>(
        s, m.state.load_role().value_or(Role::backup),
        app::FailoverPorts{m.kernel, loop, m.state, link}, *engine, *mirror, *injector, *gate,
        counters, [this](const std::string& r) { statuses.push_back(r); });
  }
  ~FakeNode() {
    failover->stop();
    gate.reset();
    machine.kernel.close();
  }

  void start() {
    mirror->start();
    mirror->pass([this] {
      mirror->reload_expectations();
      failover->resume();
      started = true;
    });
  }

  // Sends a command and keeps its reply for the test.
  void request(Role r) {
    reply.reset();
    failover->change_role(r, [this](ControlReply c) { reply = std::move(c); });
  }

  SimScheduler& loop;
  Machine& machine;
  CountingLink link;
  app::KernelCounters counters;
  std::unique_ptr<app::DirectInjector> injector;
  std::unique_ptr<SyncEngine> engine;
  std::unique_ptr<app::TakeoverGate> gate;
  std::unique_ptr<app::KernelMirror> mirror;
  std::unique_ptr<app::FailoverController> failover;
  std::optional<ControlReply> reply;
  std::vector<std::string> statuses;
  bool started = false;
};

// A peer (node 1) that is the active firewall, and the node under test (node 2), joined by a
// perfect link on simulated time.
struct Pair {
  explicit Pair(app::FailoverSettings s = small_batches()) : settings(s), machine(loop) {
    peer = std::make_unique<SyncEngine>(engine_config(1, 1), nullptr, loop.now());
    peer->set_role(Role::active, loop.now());
    node = std::make_unique<FakeNode>(loop, machine, 2, settings);
  }
  static app::FailoverSettings small_batches() {
    app::FailoverSettings s;
    s.commit_batch = 50;
    s.purge_after = seconds(30);
    s.purge_timeout = 30;
    return s;
  }

  // kill -9 and start again: nothing the old process had queued runs.
  void restart_node() {
    loop.drop_all();
    node.reset();
    node = std::make_unique<FakeNode>(loop, machine, 2, settings);
  }

  // Delivers whatever both engines have to say until they are quiet.
  void pump() {
    std::vector<std::string> out;
    for (int i = 0; i < 200; ++i) {
      bool any = false;
      out.clear();
      peer->poll(loop.now(), out);
      for (const auto& d : out) node->engine->receive(d, loop.now());
      any = any || !out.empty();
      out.clear();
      node->engine->poll(loop.now(), out);
      if (peer_hears) {
        for (const auto& d : out) peer->receive(d, loop.now());
      }
      any = any || !out.empty();
      if (!any) break;
    }
  }
  // Runs the loop and the link for `d`, in steps of 5 ms.
  void run(Duration d) {
    for (Duration t = Duration::zero(); t < d; t += milliseconds(5)) {
      pump();
      loop.advance(milliseconds(5));
    }
    pump();
  }
  // Runs until `done` holds, for at most `limit` of simulated time.
  template <typename F>
  bool run_until(F done, Duration limit = seconds(30)) {
    for (Duration t = Duration::zero(); t < limit; t += milliseconds(5)) {
      if (done()) return true;
      pump();
      loop.advance(milliseconds(5));
    }
    return done();
  }

  std::size_t external() const { return node->engine->external_size(); }

  app::FailoverSettings settings;
  SimScheduler loop;
  FakeNode::Machine machine;
  std::unique_ptr<SyncEngine> peer;
  std::unique_ptr<FakeNode> node;
  bool peer_hears = true;
};

}  // namespace ctsync::test

#pragma once
#include <functional>
#include <string>

#include "app/failover_controller.hpp"
#include "app/kernel_mirror.hpp"
#include "control/control_reply.hpp"
#include "control/control_request.hpp"
#include "control/status_render.hpp"
#include "core/sync_engine.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"
#include "ports/sync_link.hpp"

namespace ctsync::app {

// Carries out ctsyncctl's commands: each one is a call on the failover controller, the
// kernel mirror or the engine, and a rendering of what it shows.
class ControlCommands {
 public:
  struct Parts {
    ports::Scheduler& loop;
    ports::SyncLink& link;
    ports::KernelPort& kernel;
    SyncEngine& engine;
    KernelMirror& mirror;
    FailoverController& failover;
    KernelCounters& counters;
  };
  // What only the daemon knows: identity, transport, whether start-up is over.
  struct Identity {
    std::uint32_t node_id = 0;
    std::uint64_t boot_id = 0;
    std::string cache_mode;
    std::function<std::string()> transport;
    std::function<bool()> started;
  };

  ControlCommands(Parts parts, Identity identity) : p_(parts), id_(std::move(identity)) {}

  void handle(const ControlRequest& req, Respond respond);
  StatusView status() const;
  StatsView stats() const;

 private:
  Parts p_;
  Identity id_;
};

}  // namespace ctsync::app

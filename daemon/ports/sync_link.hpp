#pragma once

namespace ctsync::ports {

// The replication engine's way out: after a change to the engine (a kernel event, a role),
// kick() lets it send soon. The daemon's joins the engine to its UDP transport.
class SyncLink {
 public:
  virtual ~SyncLink() = default;
  virtual void kick() = 0;
};

}  // namespace ctsync::ports

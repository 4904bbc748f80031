#pragma once
#include <cstdint>

#include "ctsync/flow.hpp"

namespace ctsync {

// Told of every change to an external cache, after it is made: direct mode injects from here.
class PeerFlowObserver {
 public:
  virtual ~PeerFlowObserver() = default;
  virtual void peer_flow_upserted(std::uint32_t peer, const Flow& flow) = 0;
  virtual void peer_flow_erased(std::uint32_t peer, const Flow& flow) = 0;
};

}  // namespace ctsync

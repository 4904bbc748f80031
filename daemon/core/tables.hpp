#pragma once
#include <cstdint>
#include <unordered_map>

#include "ctsync/expectation.hpp"
#include "ctsync/flow_table.hpp"
#include "ctsync/slab.hpp"

namespace ctsync {

// The internal cache: flows of this node's kernel. `generation` marks which resync pass last
// saw the flow, so flows that vanished while events were lost can be swept.
struct LocalMeta {
  std::uint32_t generation = 0;
  // The role epoch in which the flow was first seen (it fits in what was padding): a node
  // stepping down purges only the entries it held before.
  std::uint32_t epoch = 0;
  // The kernel's counters as last observed (only the owner of a flow has them), in
  // SyncEngine::counters_of: most tables run without accounting, and a flow's entry stays 12
  // bytes rather than 40.
  Slab<FlowCounters>::Ref counters = 0;
};
using LocalTable = FlowTable<LocalMeta>;

// The external cache for one peer. `generation` is the bulk that last delivered the flow, so
// a completed bulk removes exactly the flows the peer no longer has.
struct PeerMeta {
  std::uint32_t generation = 0;
  // The copy's change count when the flow last changed (it fits in what was padding): a
  // commit writes the most recently changed flows first.
  std::uint32_t changed = 0;
};
using PeerTable = FlowTable<PeerMeta>;

// Expectations, local or a peer's: few and short-lived, so a plain hash map. `generation`
// plays the same part as for flows.
struct ExpectationEntry {
  Expectation expectation;
  std::uint32_t generation = 0;
};
using ExpectationTable = std::unordered_map<ExpectationKey, ExpectationEntry, ExpectationKeyHash>;

}  // namespace ctsync

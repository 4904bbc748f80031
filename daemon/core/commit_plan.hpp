#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/peer_replica.hpp"
#include "core/tables.hpp"

namespace ctsync {

// One flow of a commit: whose copy it comes from and its key. Only keys are planned: the
// value is read when it is written, so a change that arrives during the commit is written in
// its latest state and a flow deleted meanwhile is skipped.
struct CommitItem {
  std::uint32_t peer = 0;
  FlowKey key;
};

// The order a commit writes the peers' flows in: masters before the connections their
// helpers expected (the kernel attaches an expected connection only to an existing master),
// and within each, the flows the live stream changed recently first (among each copy's last
// `recent` changes, and since its last bulk, whose order says nothing): they are the likeliest
// to carry packets now. No sort: at a million flows it would delay the first write by a tenth
// of a second.
std::vector<CommitItem> plan_commit(const std::vector<const PeerReplica*>& sources,
                                    std::uint32_t recent = 65536);

// What the purge after stepping down writes for one entry of the kernel's dump, or nothing.
// Like conntrackd -t, the entries left from our time as active get a short timeout: those
// without traffic here expire, any that still carry traffic live on. Entries first seen since
// we stepped down (epoch `before_epoch` on), and those the filter keeps out of the internal
// cache, are not ours to touch.
struct PurgePlan {
  std::uint32_t timeout = 30;  // seconds
  std::uint32_t before_epoch = 0;
};
std::optional<Flow> purge_write(const PurgePlan& plan, const Flow& in_kernel,
                                const LocalMeta* known);

}  // namespace ctsync

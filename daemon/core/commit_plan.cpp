#include "core/commit_plan.hpp"

namespace ctsync {

std::vector<CommitItem> plan_commit(const std::vector<const PeerReplica*>& sources) {
  std::vector<CommitItem> plan;
  std::vector<CommitItem> expected;
  std::size_t n = 0;
  for (const PeerReplica* p : sources) n += p->table().size();
  plan.reserve(n);
  for (const PeerReplica* p : sources) {
    for (const auto& e : p->table()) {
      (e.flow.status & status::expected ? expected : plan).push_back({p->node_id(), e.flow.key});
    }
  }
  plan.insert(plan.end(), expected.begin(), expected.end());
  return plan;
}

std::optional<Flow> purge_write(const PurgePlan& plan, const Flow& in_kernel,
                                const LocalTable::Entry* known) {
  if (known == nullptr || known->meta.epoch >= plan.before_epoch) return std::nullopt;
  if (in_kernel.timeout <= plan.timeout) return std::nullopt;
  Flow out = in_kernel;
  out.timeout = plan.timeout;
  return out;
}

}  // namespace ctsync

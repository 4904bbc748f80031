#include "core/commit_plan.hpp"

#include <algorithm>

namespace ctsync {

std::vector<CommitItem> plan_commit(const std::vector<const PeerReplica*>& sources,
                                    std::uint32_t recent) {
  std::size_t n = 0;
  for (const PeerReplica* p : sources) n += p->table().size();
  std::vector<CommitItem> plan;
  plan.reserve(n);
  std::vector<CommitItem> expected_recent, expected_older;  // few: helpers' connections
  // Two passes over each copy, recent flows in the first; iterating is cheap beside a second
  // copy of the plan.
  for (const bool first_pass : {true, false}) {
    for (const PeerReplica* p : sources) {
      const std::uint32_t now = p->changes();
      const std::uint32_t window = std::min(recent, p->changes_since_bulk());
      const PeerTable& table = p->table();
      for (std::size_t i = 0; i < table.size(); ++i) {
        // Unsigned difference: right across the counter's wrap.
        const bool is_recent = now - table.meta_at(i).changed < window;
        if (is_recent != first_pass) continue;
        const Flow flow = table.flow_at(i);
        const CommitItem item{p->node_id(), flow.key};
        if (flow.status & status::expected) {
          (is_recent ? expected_recent : expected_older).push_back(item);
        } else {
          plan.push_back(item);
        }
      }
    }
  }
  plan.insert(plan.end(), expected_recent.begin(), expected_recent.end());
  plan.insert(plan.end(), expected_older.begin(), expected_older.end());
  return plan;
}

std::optional<Flow> purge_write(const PurgePlan& plan, const Flow& in_kernel,
                                const LocalMeta* known) {
  if (known == nullptr || known->epoch >= plan.before_epoch) return std::nullopt;
  if (in_kernel.timeout <= plan.timeout) return std::nullopt;
  Flow out = in_kernel;
  out.timeout = plan.timeout;
  return out;
}

}  // namespace ctsync

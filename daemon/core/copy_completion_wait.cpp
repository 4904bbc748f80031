#include "core/copy_completion_wait.hpp"

#include <algorithm>

namespace ctsync {

CopyCompletionWait::CopyCompletionWait(TimePoint requested, Duration minimum, Duration quiet)
    : deadline_(requested + minimum), quiet_(quiet) {}

bool CopyCompletionWait::done(TimePoint now, bool all_complete, std::size_t flows) {
  if (flows != flows_) {  // a bulk is still arriving
    flows_ = flows;
    deadline_ = std::max(deadline_, now + quiet_);
  }
  return all_complete || now >= deadline_;
}

}  // namespace ctsync

#pragma once
#include <cstddef>

#include "ctsync/clock.hpp"

namespace ctsync {

// Decides when a node whose commit was cut short may write its peers' copies again: as soon as
// every peer that is up has sent a complete table, otherwise once the copies have stopped
// growing for `quiet` and at least `minimum` has passed since the request. A deadline counted
// only from the request would commit half of a large bulk from a slow peer.
class CopyCompletionWait {
 public:
  CopyCompletionWait(TimePoint requested, Duration minimum, Duration quiet);

  // `flows` is how many flows all the copies hold now.
  bool done(TimePoint now, bool all_complete, std::size_t flows);

 private:
  TimePoint deadline_;
  Duration quiet_;
  std::size_t flows_ = 0;
};

}  // namespace ctsync

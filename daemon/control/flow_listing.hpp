#pragma once
#include <cstdint>
#include <string>

#include "control/control_request.hpp"
#include "core/sync_engine.hpp"

namespace ctsync {

// `ctsyncctl flows` and `expectations`, conntrack -L style or JSON, made a page at a time
// from the tables themselves: a listing of a million flows never copies them and never holds
// the loop for the whole table. Like the kernel's own dump it is not a snapshot: a flow
// erased while the listing runs can move an unlisted one into a place already listed.
class FlowListing {
 public:
  FlowListing(const SyncEngine& engine, const ControlRequest& request);

  // Appends the next page; false when that was the last.
  bool next(std::string& out);

  static constexpr std::size_t page_bytes = 64 * 1024;

 private:
  bool emit(const Flow& f, std::uint32_t peer, const FlowCounters& counters, std::string& out);

  const SyncEngine& engine_;
  ControlRequest request_;
  std::size_t limit_;
  std::size_t listed_ = 0;
  std::uint32_t peer_ = 0;  // external: the peer being listed (the next one above, when gone)
  std::size_t position_ = 0;
  bool finished_ = false;
};

// Expectations are few: listed at once.
std::string render_expectations(const SyncEngine& engine, const ControlRequest& request,
                                bool synchronised);

}  // namespace ctsync

#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/sync_counters.hpp"

namespace ctsync {

// Stream packets of one peer that arrived ahead of a gap, kept until the gap is filled. Their
// bytes count against one budget for every peer together (`counters.early_bytes`), so that
// neither a lossy link nor a key holder sending packets far ahead can make the receiver hold
// more than `budget` bytes: a packet with no room is not kept (counted), and the gap's nack
// asks for it again once earlier ones have been applied.
class EarlyPackets {
 public:
  EarlyPackets(SyncCounters& counters, std::size_t budget) : counters_(counters), budget_(budget) {}
  EarlyPackets(const EarlyPackets&) = delete;
  EarlyPackets& operator=(const EarlyPackets&) = delete;
  ~EarlyPackets() { clear(); }

  bool contains(std::uint64_t seq) const { return packets_.count(seq) != 0; }
  bool empty() const { return packets_.empty(); }
  std::uint64_t first() const { return packets_.begin()->first; }
  // False, and nothing kept, when the budget has no room for it.
  bool keep(std::uint64_t seq, std::string_view bytes);
  // The first packet, removed.
  std::pair<std::uint64_t, std::string> take_first();
  void drop_below(std::uint64_t seq);
  void clear();

  auto begin() const { return packets_.begin(); }
  auto end() const { return packets_.end(); }

 private:
  SyncCounters& counters_;
  std::size_t budget_;
  std::map<std::uint64_t, std::string> packets_;
};

}  // namespace ctsync

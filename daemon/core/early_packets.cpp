#include "core/early_packets.hpp"

namespace ctsync {

bool EarlyPackets::keep(std::uint64_t seq, std::string_view bytes) {
  if (counters_.early_bytes + bytes.size() > budget_) {
    counters_.early_refused += 1;
    return false;
  }
  if (packets_.emplace(seq, std::string(bytes)).second) counters_.early_bytes += bytes.size();
  return true;
}

std::pair<std::uint64_t, std::string> EarlyPackets::take_first() {
  auto node = packets_.extract(packets_.begin());
  counters_.early_bytes -= node.mapped().size();
  return {node.key(), std::move(node.mapped())};
}

void EarlyPackets::drop_below(std::uint64_t seq) {
  while (!packets_.empty() && packets_.begin()->first < seq) {
    counters_.early_bytes -= packets_.begin()->second.size();
    packets_.erase(packets_.begin());
  }
}

void EarlyPackets::clear() {
  for (const auto& [s, bytes] : packets_) counters_.early_bytes -= bytes.size();
  packets_.clear();
}

}  // namespace ctsync

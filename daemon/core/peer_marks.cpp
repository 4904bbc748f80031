#include "core/peer_marks.hpp"

#include <sstream>

namespace ctsync {

std::string peer_marks_to_text(const PeerMarks& marks) {
  std::string out;
  for (const auto& [node, m] : marks) {
    out +=
        std::to_string(node) + " " + std::to_string(m.boot_id) + " " + std::to_string(m.seq) + "\n";
  }
  return out;
}

PeerMarks peer_marks_from_text(const std::string& text) {
  PeerMarks marks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::uint64_t node = 0, boot = 0, seq = 0;
    std::string rest;
    if (!(fields >> node >> boot >> seq) || (fields >> rest)) continue;
    if (node == 0 || node > UINT32_MAX || boot == 0) continue;
    marks[static_cast<std::uint32_t>(node)] = PeerMark{boot, seq};
  }
  return marks;
}

}  // namespace ctsync

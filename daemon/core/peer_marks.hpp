#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace ctsync {

// The newest datagram accepted from each peer: its boot id and datagram counter. Kept in the
// state directory, so that a receiver that restarts still refuses what it accepted before
// (a recorded stream replayed to it while the genuine sender is silent), instead of taking
// the first boot it hears as news.
struct PeerMark {
  std::uint64_t boot_id = 0;
  std::uint64_t seq = 0;
  friend bool operator==(const PeerMark&, const PeerMark&) = default;
};

using PeerMarks = std::map<std::uint32_t, PeerMark>;

// One line per peer: "node_id boot_id seq". Lines that do not read as three numbers with a
// node id and boot id above zero are skipped: a damaged file forgets a peer, it never stops
// the daemon (the protection then falls back to the in-memory window).
std::string peer_marks_to_text(const PeerMarks& marks);
PeerMarks peer_marks_from_text(const std::string& text);

}  // namespace ctsync

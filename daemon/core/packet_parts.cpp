#include "core/packet_parts.hpp"

#include "core/wire_reader.hpp"
#include "ctsync/v1/sync.pb.h"

namespace ctsync {

namespace {
constexpr std::uint32_t deletes = v1::Packet::kDeletesFieldNumber;
constexpr std::uint32_t upserts = v1::Packet::kUpsertsFieldNumber;
constexpr std::uint32_t padding = v1::Packet::kPaddingFieldNumber;
}  // namespace

bool split_packet(std::string_view bytes, PacketParts& out) {
  out.control.clear();
  out.deletes.clear();
  out.upserts.clear();
  wire::Reader r(bytes);
  while (!r.done()) {
    const char* start = r.position();
    std::uint32_t field, type;
    if (!r.tag(field, type)) return false;
    // Packet.deletes and Packet.upserts; in another wire type the generated parser would
    // skip them as unknown, and so it does, given them with the control fields.
    if ((field == deletes || field == upserts) && type == wire::as_bytes) {
      std::string_view m;
      if (!r.read_bytes(m)) return false;
      (field == deletes ? out.deletes : out.upserts).push_back(m);
      continue;
    }
    if (!r.skip(type)) return false;
    if (field == padding) continue;  // nothing to parse
    out.control.append(start, r.position());
  }
  return true;
}

}  // namespace ctsync

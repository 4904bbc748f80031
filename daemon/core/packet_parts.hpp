#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ctsync {

// A received Packet in two parts: its flow messages (deletes and upserts, nearly all of a
// datagram's bytes) as wire bytes, for decode_key / decode_flow to read without message
// objects; and everything else (a few dozen bytes of control fields) for the generated
// parser. A flow message that does not decode is dropped and counted alone; the rest of
// the packet still applies.
struct PacketParts {
  std::string control;                             // a Packet without fields 10 and 11
  std::vector<std::string_view> deletes, upserts;  // into the bytes given to split_packet
};

// False when the packet's top level is malformed (or holds a group, which no sender writes).
bool split_packet(std::string_view bytes, PacketParts& out);

}  // namespace ctsync

// Packets reach the takeover hold from any host on the LAN and WAN, before conntrack or any
// rule has looked at them: the header reader must take anything.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/packet_tuple.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> packet(data, size);
  const auto t = ctsync::packet_tuple(packet);
  if (!t) return 0;
  // What it read is what the packet says: the version nibble and the addresses.
  const bool v4 = t->family == ctsync::Family::ipv4;
  if ((data[0] >> 4) != (v4 ? 4 : 6)) __builtin_trap();
  const std::size_t src_at = v4 ? 12 : 8, len = v4 ? 4 : 16;
  if (size < src_at + 2 * len || std::memcmp(t->src.bytes.data(), data + src_at, len) != 0 ||
      std::memcmp(t->dst.bytes.data(), data + src_at + len, len) != 0) {
    __builtin_trap();
  }
  return 0;
}

#pragma once
// Reading protobuf wire bytes field by field, bounds-checked; for the hand-written readers
// (core/flow_wire_view, core/packet_parts).
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ctsync::wire {

// Wire types.
enum : std::uint32_t { as_varint = 0, as_fixed64 = 1, as_bytes = 2, as_fixed32 = 5 };

// Every read says whether the bytes held what it asked for; nothing reads past the end.
class Reader {
 public:
  explicit Reader(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool done() const { return p_ == end_; }

  bool tag(std::uint32_t& field, std::uint32_t& type) {
    std::uint64_t v;
    if (!read_varint(v) || v > 0xffffffffu) return false;
    field = static_cast<std::uint32_t>(v >> 3);
    type = static_cast<std::uint32_t>(v & 7);
    return field != 0;
  }
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) return false;
      const auto b = static_cast<std::uint8_t>(*p_++);
      // The tenth byte holds one bit; more is the generated parser's to judge.
      if (shift == 63 && b > 1) return false;
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return true;
    }
    return false;
  }
  bool read_varint32(std::uint32_t& v) {
    std::uint64_t w;
    if (!read_varint(w) || w > 0xffffffffu) return false;
    v = static_cast<std::uint32_t>(w);
    return true;
  }
  bool read_fixed32(std::uint32_t& v) {
    if (end_ - p_ < 4) return false;
    std::memcpy(&v, p_, 4);  // little-endian on the wire and here (x86, arm64)
    p_ += 4;
    return true;
  }
  bool read_fixed64(std::uint64_t& v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);
    p_ += 8;
    return true;
  }
  // Skips one field's value of wire type `type`; false for groups (our schema has none).
  bool skip(std::uint32_t type) {
    std::uint64_t v;
    std::uint32_t w;
    std::string_view b;
    switch (type) {
      case as_varint:
        return read_varint(v);
      case as_fixed64:
        return read_fixed64(v);
      case as_bytes:
        return read_bytes(b);
      case as_fixed32:
        return read_fixed32(w);
      default:
        return false;
    }
  }
  const char* position() const { return p_; }
  bool read_bytes(std::string_view& v) {
    std::uint64_t n;
    if (!read_varint(n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    v = std::string_view(p_, n);
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace ctsync::wire

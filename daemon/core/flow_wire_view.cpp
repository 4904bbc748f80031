#include "core/flow_wire_view.hpp"

#include "core/wire_reader.hpp"

namespace ctsync::wire {

namespace {

// Each field at most once: a repeated one means merging, which the generated parser does.
bool first_time(std::uint32_t field, std::uint32_t& seen) {
  const std::uint32_t bit = 1u << field;
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

bool parse_tuple(std::string_view bytes, TupleView& out) {
  Reader r(bytes);
  std::uint32_t seen = 0;
  while (!r.done()) {
    std::uint32_t field, type;
    if (!r.tag(field, type) || field > 6 || !first_time(field, seen)) return false;
    bool ok;
    switch (field) {
      case 1:
        ok = type == as_fixed32 && r.read_fixed32(out.src4_);
        break;
      case 2:
        ok = type == as_fixed32 && r.read_fixed32(out.dst4_);
        break;
      case 3:
        ok = type == as_bytes && r.read_bytes(out.src6_);
        break;
      case 4:
        ok = type == as_bytes && r.read_bytes(out.dst6_);
        break;
      case 5:
        ok = type == as_fixed32 && r.read_fixed32(out.ports_);
        break;
      default:
        ok = type == as_varint && r.read_varint32(out.icmp_);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool parse_seq(std::string_view bytes, SeqAdjustView& out) {
  Reader r(bytes);
  std::uint32_t seen = 0;
  auto zigzag = [&r](std::int32_t& v) {
    std::uint32_t u;
    if (!r.read_varint32(u)) return false;
    v = static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  };
  while (!r.done()) {
    std::uint32_t field, type;
    if (!r.tag(field, type) || field > 3 || !first_time(field, seen) || type != as_varint)
      return false;
    const bool ok = field == 1   ? r.read_varint32(out.correction_pos_)
                    : field == 2 ? zigzag(out.offset_before_)
                                 : zigzag(out.offset_after_);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool parse(std::string_view bytes, FlowKeyView& out) {
  Reader r(bytes);
  std::uint32_t seen = 0;
  while (!r.done()) {
    std::uint32_t field, type;
    if (!r.tag(field, type) || field > 4 || !first_time(field, seen)) return false;
    bool ok;
    std::uint64_t v = 0;
    std::string_view m;
    switch (field) {
      case 1:
        ok = type == as_varint && r.read_varint(v);
        out.ipv6_ = v != 0;
        break;
      case 2:
        ok = type == as_varint && r.read_varint32(out.protocol_);
        break;
      case 3:
        ok = type == as_varint && r.read_varint32(out.zone_);
        break;
      default:
        ok = type == as_bytes && r.read_bytes(m) && parse_tuple(m, out.original_);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool parse(std::string_view bytes, FlowStateView& out) {
  Reader r(bytes);
  std::uint32_t seen = 0;
  while (!r.done()) {
    std::uint32_t field, type;
    if (!r.tag(field, type) || field > 15 || !first_time(field, seen)) return false;
    bool ok;
    std::string_view m;
    switch (field) {
      case 1:
        ok = type == as_bytes && r.read_bytes(m) && parse(m, out.key_);
        break;
      case 2:
        ok = type == as_bytes && r.read_bytes(m) && parse_tuple(m, out.reply_);
        out.has_reply_ = true;
        break;
      case 3:
        ok = type == as_varint && r.read_varint32(out.status_);
        break;
      case 4:
        ok = type == as_varint && r.read_varint32(out.timeout_);
        break;
      case 5:
        ok = type == as_varint && r.read_varint32(out.mark_);
        break;
      case 6:
        ok = type == as_varint && r.read_varint32(out.tcp_);
        break;
      case 7:
        ok = type == as_varint && r.read_varint32(out.sctp_state_);
        break;
      case 8:
        ok = type == as_fixed32 && r.read_fixed32(out.sctp_vtag_original_);
        break;
      case 9:
        ok = type == as_fixed32 && r.read_fixed32(out.sctp_vtag_reply_);
        break;
      case 10:
        // A string: the generated parser checks UTF-8, here only ASCII passes.
        ok = type == as_bytes && r.read_bytes(out.helper_);
        for (char c : out.helper_) ok = ok && static_cast<unsigned char>(c) < 0x80;
        break;
      case 11:
        ok = type == as_fixed64 && r.read_fixed64(out.labels_low_);
        break;
      case 12:
        ok = type == as_fixed64 && r.read_fixed64(out.labels_high_);
        break;
      case 13:
        ok = type == as_varint && r.read_varint(out.start_ns_);
        break;
      case 14:
        ok = type == as_bytes && r.read_bytes(m) && parse_seq(m, out.seq_original_);
        out.has_seq_original_ = true;
        break;
      default:
        ok = type == as_bytes && r.read_bytes(m) && parse_seq(m, out.seq_reply_);
        out.has_seq_reply_ = true;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace ctsync::wire

#include "core/flow_wire_view.hpp"

#include "core/wire_fields.hpp"
#include "core/wire_reader.hpp"

namespace ctsync::wire {

namespace {

// Walks a message's fields, each of them at most once (a repeated one means merging, which
// the generated parser does) and numbered at most `last`; `read(field, type, reader)`
// consumes one field's value and says whether it was in the expected form.
template <typename Read>
bool each_field(std::string_view bytes, std::uint32_t last, Read read) {
  Reader r(bytes);
  std::uint32_t seen = 0;
  while (!r.done()) {
    std::uint32_t field, type;
    if (!r.tag(field, type) || field > last || (seen & (1u << field)) != 0) return false;
    seen |= 1u << field;
    if (!read(field, type, r)) return false;
  }
  return true;
}

bool parse_tuple(std::string_view bytes, TupleView& out) {
  return each_field(bytes, fields::tuple::last,
                    [&](std::uint32_t field, std::uint32_t type, Reader& r) {
                      bool ok;
                      switch (field) {
                        case fields::tuple::src4:
                          ok = type == as_fixed32 && r.read_fixed32(out.src4_);
                          break;
                        case fields::tuple::dst4:
                          ok = type == as_fixed32 && r.read_fixed32(out.dst4_);
                          break;
                        case fields::tuple::src6:
                          ok = type == as_bytes && r.read_bytes(out.src6_);
                          break;
                        case fields::tuple::dst6:
                          ok = type == as_bytes && r.read_bytes(out.dst6_);
                          break;
                        case fields::tuple::ports:
                          ok = type == as_fixed32 && r.read_fixed32(out.ports_);
                          break;
                        default:
                          ok = type == as_varint && r.read_varint32(out.icmp_);
                          break;
                      }
                      return ok;
                    });
}

bool parse_seq(std::string_view bytes, SeqAdjustView& out) {
  auto zigzag = [](Reader& r, std::int32_t& v) {
    std::uint32_t u;
    if (!r.read_varint32(u)) return false;
    v = static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  };
  return each_field(
      bytes, fields::seq::last, [&](std::uint32_t field, std::uint32_t type, Reader& r) {
        if (type != as_varint) return false;
        return field == fields::seq::correction_pos  ? r.read_varint32(out.correction_pos_)
               : field == fields::seq::offset_before ? zigzag(r, out.offset_before_)
                                                     : zigzag(r, out.offset_after_);
      });
}

}  // namespace

bool parse(std::string_view bytes, FlowKeyView& out) {
  return each_field(bytes, fields::key::last,
                    [&](std::uint32_t field, std::uint32_t type, Reader& r) {
                      bool ok;
                      std::uint64_t v = 0;
                      std::string_view m;
                      switch (field) {
                        case fields::key::ipv6:
                          ok = type == as_varint && r.read_varint(v);
                          out.ipv6_ = v != 0;
                          break;
                        case fields::key::protocol:
                          ok = type == as_varint && r.read_varint32(out.protocol_);
                          break;
                        case fields::key::zone:
                          ok = type == as_varint && r.read_varint32(out.zone_);
                          break;
                        default:
                          ok = type == as_bytes && r.read_bytes(m) && parse_tuple(m, out.original_);
                          break;
                      }
                      return ok;
                    });
}

bool parse(std::string_view bytes, FlowStateView& out) {
  return each_field(
      bytes, fields::state::last, [&](std::uint32_t field, std::uint32_t type, Reader& r) {
        bool ok;
        std::string_view m;
        switch (field) {
          case fields::state::key:
            ok = type == as_bytes && r.read_bytes(m) && parse(m, out.key_);
            break;
          case fields::state::reply:
            ok = type == as_bytes && r.read_bytes(m) && parse_tuple(m, out.reply_);
            out.has_reply_ = true;
            break;
          case fields::state::status:
            ok = type == as_varint && r.read_varint32(out.status_);
            break;
          case fields::state::timeout:
            ok = type == as_varint && r.read_varint32(out.timeout_);
            break;
          case fields::state::mark:
            ok = type == as_varint && r.read_varint32(out.mark_);
            break;
          case fields::state::tcp:
            ok = type == as_varint && r.read_varint32(out.tcp_);
            break;
          case fields::state::sctp_state:
            ok = type == as_varint && r.read_varint32(out.sctp_state_);
            break;
          case fields::state::sctp_vtag_original:
            ok = type == as_fixed32 && r.read_fixed32(out.sctp_vtag_original_);
            break;
          case fields::state::sctp_vtag_reply:
            ok = type == as_fixed32 && r.read_fixed32(out.sctp_vtag_reply_);
            break;
          case fields::state::helper:
            // A string: the generated parser checks UTF-8, here only ASCII passes.
            ok = type == as_bytes && r.read_bytes(out.helper_);
            for (char c : out.helper_) ok = ok && static_cast<unsigned char>(c) < 0x80;
            break;
          case fields::state::labels_low:
            ok = type == as_fixed64 && r.read_fixed64(out.labels_low_);
            break;
          case fields::state::labels_high:
            ok = type == as_fixed64 && r.read_fixed64(out.labels_high_);
            break;
          case fields::state::start_ns:
            ok = type == as_varint && r.read_varint(out.start_ns_);
            break;
          case fields::state::seq_original:
            ok = type == as_bytes && r.read_bytes(m) && parse_seq(m, out.seq_original_);
            out.has_seq_original_ = true;
            break;
          default:
            ok = type == as_bytes && r.read_bytes(m) && parse_seq(m, out.seq_reply_);
            out.has_seq_reply_ = true;
            break;
        }
        return ok;
      });
}

}  // namespace ctsync::wire

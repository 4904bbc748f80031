#include "core/flow_wire.hpp"

#include <cstring>

#include "core/wire_fields.hpp"

namespace ctsync::wire {

namespace {

// A small, fixed-size scratch buffer: one flow never needs more than a few hundred bytes.
// protobuf's sint32 encoding: small magnitudes of either sign stay small.
std::uint32_t zigzag(std::int32_t v) {
  return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}

class Scratch {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_[n_++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf_[n_++] = static_cast<char>(v);
  }
  void tag(std::uint32_t field, Type t) { varint(field << 3 | static_cast<std::uint32_t>(t)); }
  void varint_field(std::uint32_t field, std::uint64_t v) {
    if (v == 0) return;
    tag(field, Type::varint);
    varint(v);
  }
  void fixed32_field(std::uint32_t field, std::uint32_t v) {
    if (v == 0) return;
    tag(field, Type::fixed32);
    std::memcpy(buf_ + n_, &v, 4);  // little-endian, as protobuf's fixed32
    n_ += 4;
  }
  void fixed64_field(std::uint32_t field, std::uint64_t v) {
    if (v == 0) return;
    tag(field, Type::fixed64);
    std::memcpy(buf_ + n_, &v, 8);
    n_ += 8;
  }
  void bytes_field(std::uint32_t field, const void* p, std::size_t len) {
    if (len == 0) return;
    tag(field, Type::bytes);
    varint(len);
    std::memcpy(buf_ + n_, p, len);
    n_ += len;
  }
  // A nested message written by `fill` into its own scratch buffer.
  template <typename Fill>
  void message_field(std::uint32_t field, Fill fill) {
    Scratch inner;
    fill(inner);
    bytes_field_always(field, inner.buf_, inner.n_);
  }
  void bytes_field_always(std::uint32_t field, const void* p, std::size_t len) {
    tag(field, Type::bytes);
    varint(len);
    std::memcpy(buf_ + n_, p, len);
    n_ += len;
  }
  const char* data() const { return buf_; }
  std::size_t size() const { return n_; }

 private:
  char buf_[384];
  std::size_t n_ = 0;
};

std::uint32_t v4_word(const IpAddress& a) {
  return std::uint32_t{a.bytes[0]} << 24 | std::uint32_t{a.bytes[1]} << 16 |
         std::uint32_t{a.bytes[2]} << 8 | a.bytes[3];
}

void tuple(Scratch& s, const Tuple& t) {
  if (t.family == Family::ipv4) {
    s.fixed32_field(fields::tuple::src4, v4_word(t.src));
    s.fixed32_field(fields::tuple::dst4, v4_word(t.dst));
  } else {
    s.bytes_field(fields::tuple::src6, t.src.bytes.data(), 16);
    s.bytes_field(fields::tuple::dst6, t.dst.bytes.data(), 16);
  }
  if (protocol_is_icmp(t.protocol)) {
    s.varint_field(fields::tuple::icmp,
                   std::uint32_t{t.icmp_id} << 16 | std::uint32_t{t.icmp_type} << 8 | t.icmp_code);
  } else {
    s.fixed32_field(fields::tuple::ports, std::uint32_t{t.src_port} << 16 | t.dst_port);
  }
}

void key(Scratch& s, const FlowKey& k) {
  s.varint_field(fields::key::ipv6, k.original.family == Family::ipv6 ? 1 : 0);
  s.varint_field(fields::key::protocol, k.original.protocol);
  s.varint_field(fields::key::zone, k.zone);
  s.message_field(fields::key::original, [&](Scratch& t) { tuple(t, k.original); });
}

}  // namespace

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, std::uint32_t field, Type type) {
  put_varint(out, field << 3 | static_cast<std::uint32_t>(type));
}

void put_varint_field(std::string& out, std::uint32_t field, std::uint64_t v) {
  put_tag(out, field, Type::varint);
  put_varint(out, v);
}

std::size_t put_key(std::string& out, std::uint32_t field, const FlowKey& k) {
  Scratch s;
  key(s, k);
  const std::size_t before = out.size();
  put_tag(out, field, Type::bytes);
  put_varint(out, s.size());
  out.append(s.data(), s.size());
  return out.size() - before;
}

std::size_t put_flow(std::string& out, std::uint32_t field, const Flow& f) {
  Scratch s;
  s.message_field(fields::state::key, [&](Scratch& k) { key(k, f.key); });
  if (!(f.reply == invert(f.key.original)))
    s.message_field(fields::state::reply, [&](Scratch& t) { tuple(t, f.reply); });
  s.varint_field(fields::state::status, f.status);
  s.varint_field(fields::state::timeout, f.timeout);
  s.varint_field(fields::state::mark, f.mark);
  if (f.protocol() == proto::tcp) {
    s.varint_field(fields::state::tcp, static_cast<std::uint32_t>(f.tcp.state) |
                                           std::uint32_t{f.tcp.wscale_original & 0xfu} << 4 |
                                           std::uint32_t{f.tcp.wscale_reply & 0xfu} << 8 |
                                           std::uint32_t{f.tcp.flags_original} << 12 |
                                           std::uint32_t{f.tcp.flags_reply} << 20);
  }
  s.varint_field(fields::state::sctp_state, static_cast<std::uint32_t>(f.sctp.state));
  s.fixed32_field(fields::state::sctp_vtag_original, f.sctp.vtag_original);
  s.fixed32_field(fields::state::sctp_vtag_reply, f.sctp.vtag_reply);
  const auto helper = f.helper.view();
  s.bytes_field(fields::state::helper, helper.data(), helper.size());
  s.fixed64_field(fields::state::labels_low, f.labels.words[0]);
  s.fixed64_field(fields::state::labels_high, f.labels.words[1]);
  s.varint_field(fields::state::start_ns, f.start_ns);
  auto seq = [](Scratch& m, const SeqAdjust& a) {
    m.varint_field(fields::seq::correction_pos, a.correction_pos);
    m.varint_field(fields::seq::offset_before, zigzag(a.offset_before));
    m.varint_field(fields::seq::offset_after, zigzag(a.offset_after));
  };
  if (!f.seq_original.empty())
    s.message_field(fields::state::seq_original, [&](Scratch& m) { seq(m, f.seq_original); });
  if (!f.seq_reply.empty())
    s.message_field(fields::state::seq_reply, [&](Scratch& m) { seq(m, f.seq_reply); });
  const std::size_t before = out.size();
  put_tag(out, field, Type::bytes);
  put_varint(out, s.size());
  out.append(s.data(), s.size());
  return out.size() - before;
}

}  // namespace ctsync::wire

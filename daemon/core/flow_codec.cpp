#include "core/flow_codec.hpp"

#include <cstring>

#include "core/flow_wire_view.hpp"

namespace ctsync {

namespace {

std::uint32_t v4_word(const IpAddress& a) {
  return std::uint32_t{a.bytes[0]} << 24 | std::uint32_t{a.bytes[1]} << 16 |
         std::uint32_t{a.bytes[2]} << 8 | a.bytes[3];
}

IpAddress from_v4_word(std::uint32_t w) {
  return IpAddress::v4(static_cast<std::uint8_t>(w >> 24), static_cast<std::uint8_t>(w >> 16),
                       static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w));
}

}  // namespace

void encode_tuple(const Tuple& t, v1::Tuple* out) {
  if (t.family == Family::ipv4) {
    out->set_src4(v4_word(t.src));
    out->set_dst4(v4_word(t.dst));
  } else {
    out->set_src6(t.src.bytes.data(), 16);
    out->set_dst6(t.dst.bytes.data(), 16);
  }
  if (protocol_is_icmp(t.protocol)) {
    out->set_icmp(std::uint32_t{t.icmp_id} << 16 | std::uint32_t{t.icmp_type} << 8 | t.icmp_code);
  } else {
    out->set_ports(std::uint32_t{t.src_port} << 16 | t.dst_port);
  }
}

namespace {

// The checks, once, for the generated classes and for the wire views alike.
template <typename TupleMessage>
Result<Tuple> tuple_from(const TupleMessage& in, Family family, std::uint8_t protocol,
                         const char* what) {
  Tuple t;
  t.family = family;
  t.protocol = protocol;
  if (family == Family::ipv4) {
    if (!in.src6().empty() || !in.dst6().empty()) {
      return make_error(std::string(what) + ": IPv6 address in an IPv4 tuple");
    }
    t.src = from_v4_word(in.src4());
    t.dst = from_v4_word(in.dst4());
  } else {
    if (in.src6().size() != 16 || in.dst6().size() != 16 || in.src4() != 0 || in.dst4() != 0) {
      return make_error(std::string(what) + ": IPv6 tuple without two 16-byte addresses");
    }
    std::memcpy(t.src.bytes.data(), in.src6().data(), 16);
    std::memcpy(t.dst.bytes.data(), in.dst6().data(), 16);
  }
  if (protocol_is_icmp(protocol)) {
    if (in.ports() != 0) return make_error(std::string(what) + ": ports on an ICMP tuple");
    t.icmp_id = static_cast<std::uint16_t>(in.icmp() >> 16);
    t.icmp_type = static_cast<std::uint8_t>(in.icmp() >> 8);
    t.icmp_code = static_cast<std::uint8_t>(in.icmp());
  } else {
    if (in.icmp() != 0) return make_error(std::string(what) + ": ICMP fields on a non-ICMP tuple");
    t.src_port = static_cast<std::uint16_t>(in.ports() >> 16);
    t.dst_port = static_cast<std::uint16_t>(in.ports());
  }
  return t;
}

}  // namespace

void encode_key(const FlowKey& key, v1::FlowKey* out) {
  if (key.original.family == Family::ipv6) out->set_ipv6(true);
  out->set_protocol(key.original.protocol);
  if (key.zone != 0) out->set_zone(key.zone);
  encode_tuple(key.original, out->mutable_original());
}

void encode_flow(const Flow& f, v1::FlowState* out) {
  encode_key(f.key, out->mutable_key());
  if (!(f.reply == invert(f.key.original))) encode_tuple(f.reply, out->mutable_reply());
  out->set_status(f.status);
  out->set_timeout(f.timeout);
  out->set_mark(f.mark);
  if (f.protocol() == proto::tcp) {
    out->set_tcp(
        static_cast<std::uint32_t>(f.tcp.state) | std::uint32_t{f.tcp.wscale_original & 0xfu} << 4 |
        std::uint32_t{f.tcp.wscale_reply & 0xfu} << 8 | std::uint32_t{f.tcp.flags_original} << 12 |
        std::uint32_t{f.tcp.flags_reply} << 20);
  }
  if (f.sctp.state != SctpState::none)
    out->set_sctp_state(static_cast<std::uint32_t>(f.sctp.state));
  out->set_sctp_vtag_original(f.sctp.vtag_original);
  out->set_sctp_vtag_reply(f.sctp.vtag_reply);
  if (!f.helper.empty()) out->set_helper(std::string(f.helper.view()));
  out->set_labels_low(f.labels.words[0]);
  out->set_labels_high(f.labels.words[1]);
  out->set_start_ns(f.start_ns);
  auto seq = [](const SeqAdjust& a, v1::SeqAdjust* m) {
    m->set_correction_pos(a.correction_pos);
    m->set_offset_before(a.offset_before);
    m->set_offset_after(a.offset_after);
  };
  if (!f.seq_original.empty()) seq(f.seq_original, out->mutable_seq_adjust_original());
  if (!f.seq_reply.empty()) seq(f.seq_reply, out->mutable_seq_adjust_reply());
}

namespace {

template <typename KeyMessage>
Result<FlowKey> key_from(const KeyMessage& in) {
  if (in.protocol() > 255)
    return make_error("flow key: protocol " + std::to_string(in.protocol()) + " out of range");
  if (in.zone() > 0xffff)
    return make_error("flow key: zone " + std::to_string(in.zone()) + " out of range");
  const Family family = in.ipv6() ? Family::ipv6 : Family::ipv4;
  const auto protocol = static_cast<std::uint8_t>(in.protocol());
  if ((protocol == proto::icmp && family != Family::ipv4) ||
      (protocol == proto::icmpv6 && family != Family::ipv6)) {
    return make_error("flow key: ICMP protocol does not match the address family");
  }
  auto original = tuple_from(in.original(), family, protocol, "original tuple");
  if (!original) return original.error();
  return FlowKey{static_cast<std::uint16_t>(in.zone()), *original};
}

}  // namespace

namespace {

template <typename FlowMessage>
Result<Flow> flow_from(const FlowMessage& in) {
  auto key = key_from(in.key());
  if (!key) return key.error();
  Flow f;
  f.key = *key;
  if (in.has_reply()) {
    auto reply = tuple_from(in.reply(), f.family(), f.protocol(), "reply tuple");
    if (!reply) return reply.error();
    f.reply = *reply;
  } else {
    f.reply = invert(f.key.original);
  }
  f.status = in.status();
  f.timeout = in.timeout();
  f.mark = in.mark();
  if (in.tcp() != 0) {
    if (f.protocol() != proto::tcp) return make_error("flow: TCP state on a non-TCP flow");
    const std::uint32_t state = in.tcp() & 0xfu;
    if (state > static_cast<std::uint32_t>(TcpState::syn_sent2) || (in.tcp() >> 28) != 0) {
      return make_error("flow: TCP state " + std::to_string(state) + " out of range");
    }
    f.tcp.state = static_cast<TcpState>(state);
    f.tcp.wscale_original = static_cast<std::uint8_t>((in.tcp() >> 4) & 0xfu);
    f.tcp.wscale_reply = static_cast<std::uint8_t>((in.tcp() >> 8) & 0xfu);
    f.tcp.flags_original = static_cast<std::uint8_t>(in.tcp() >> 12);
    f.tcp.flags_reply = static_cast<std::uint8_t>(in.tcp() >> 20);
  }
  if (in.sctp_state() > static_cast<std::uint32_t>(SctpState::heartbeat_sent)) {
    return make_error("flow: SCTP state " + std::to_string(in.sctp_state()) + " out of range");
  }
  f.sctp.state = static_cast<SctpState>(in.sctp_state());
  f.sctp.vtag_original = in.sctp_vtag_original();
  f.sctp.vtag_reply = in.sctp_vtag_reply();
  if (in.helper().size() > 15) return make_error("flow: helper name longer than 15 bytes");
  if (in.helper().find('\0') != std::string::npos)
    return make_error("flow: helper name contains NUL");
  const auto helper = HelperName::intern(in.helper(), HelperName::Origin::peer);
  if (!helper) return make_error("flow: more distinct helper names than this node keeps");
  f.helper = *helper;
  f.labels.words = {in.labels_low(), in.labels_high()};
  f.start_ns = in.start_ns();
  if (f.protocol() != proto::tcp && (in.has_seq_adjust_original() || in.has_seq_adjust_reply())) {
    return make_error("flow: sequence adjustment on a non-TCP flow");
  }
  auto seq = [](const auto& m) {
    return SeqAdjust{m.correction_pos(), m.offset_before(), m.offset_after()};
  };
  if (in.has_seq_adjust_original()) f.seq_original = seq(in.seq_adjust_original());
  if (in.has_seq_adjust_reply()) f.seq_reply = seq(in.seq_adjust_reply());
  return f;
}

}  // namespace

Result<Tuple> decode_tuple(const v1::Tuple& in, Family family, std::uint8_t protocol,
                           const char* what) {
  return tuple_from(in, family, protocol, what);
}

Result<FlowKey> decode_key(const v1::FlowKey& in) {
  return key_from(in);
}

Result<Flow> decode_flow(const v1::FlowState& in) {
  return flow_from(in);
}

namespace {

// The direct read where the bytes are in its form, the generated parser otherwise.
template <typename View, typename Message, typename Decode>
auto decode_bytes(std::string_view bytes, const char* malformed, Decode decode) {
  View view;
  if (wire::parse(bytes, view)) return decode(view);
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return decltype(decode(view))(make_error(malformed));
  return decode(m);
}

}  // namespace

Result<FlowKey> decode_key(std::string_view bytes) {
  return decode_bytes<wire::FlowKeyView, v1::FlowKey>(bytes, "flow key: malformed message",
                                                      [](const auto& in) { return key_from(in); });
}

Result<Flow> decode_flow(std::string_view bytes) {
  return decode_bytes<wire::FlowStateView, v1::FlowState>(
      bytes, "flow: malformed message", [](const auto& in) { return flow_from(in); });
}

}  // namespace ctsync

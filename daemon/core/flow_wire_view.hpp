#pragma once
// Reading FlowState and FlowKey wire bytes without the generated classes: a bulk is hundreds
// of thousands of them, and building message objects was most of a receiver's time. The
// views carry the accessor names of the generated classes, so flow_codec applies the very
// same checks to both (see decode_flow). They read only the canonical form core/flow_wire
// writes: known fields, each once, in their own wire types, values in range, ASCII helper
// names. parse() says no to anything else, and the generated parser reads it instead, so
// nothing a peer may send is read differently (a unit test and a fuzzer hold the two
// together).
#include <cstdint>
#include <string_view>

namespace ctsync::wire {

struct TupleView {
  std::uint32_t src4_ = 0, dst4_ = 0, ports_ = 0, icmp_ = 0;
  std::string_view src6_, dst6_;

  std::uint32_t src4() const { return src4_; }
  std::uint32_t dst4() const { return dst4_; }
  std::string_view src6() const { return src6_; }
  std::string_view dst6() const { return dst6_; }
  std::uint32_t ports() const { return ports_; }
  std::uint32_t icmp() const { return icmp_; }
};

struct FlowKeyView {
  bool ipv6_ = false;
  std::uint32_t protocol_ = 0, zone_ = 0;
  TupleView original_;

  bool ipv6() const { return ipv6_; }
  std::uint32_t protocol() const { return protocol_; }
  std::uint32_t zone() const { return zone_; }
  const TupleView& original() const { return original_; }
};

struct SeqAdjustView {
  std::uint32_t correction_pos_ = 0;
  std::int32_t offset_before_ = 0, offset_after_ = 0;

  std::uint32_t correction_pos() const { return correction_pos_; }
  std::int32_t offset_before() const { return offset_before_; }
  std::int32_t offset_after() const { return offset_after_; }
};

struct FlowStateView {
  FlowKeyView key_;
  TupleView reply_;
  bool has_reply_ = false;
  std::uint32_t status_ = 0, timeout_ = 0, mark_ = 0, tcp_ = 0, sctp_state_ = 0;
  std::uint32_t sctp_vtag_original_ = 0, sctp_vtag_reply_ = 0;
  std::string_view helper_;
  std::uint64_t labels_low_ = 0, labels_high_ = 0, start_ns_ = 0;
  SeqAdjustView seq_original_, seq_reply_;
  bool has_seq_original_ = false, has_seq_reply_ = false;

  const FlowKeyView& key() const { return key_; }
  bool has_reply() const { return has_reply_; }
  const TupleView& reply() const { return reply_; }
  std::uint32_t status() const { return status_; }
  std::uint32_t timeout() const { return timeout_; }
  std::uint32_t mark() const { return mark_; }
  std::uint32_t tcp() const { return tcp_; }
  std::uint32_t sctp_state() const { return sctp_state_; }
  std::uint32_t sctp_vtag_original() const { return sctp_vtag_original_; }
  std::uint32_t sctp_vtag_reply() const { return sctp_vtag_reply_; }
  std::string_view helper() const { return helper_; }
  std::uint64_t labels_low() const { return labels_low_; }
  std::uint64_t labels_high() const { return labels_high_; }
  std::uint64_t start_ns() const { return start_ns_; }
  bool has_seq_adjust_original() const { return has_seq_original_; }
  bool has_seq_adjust_reply() const { return has_seq_reply_; }
  const SeqAdjustView& seq_adjust_original() const { return seq_original_; }
  const SeqAdjustView& seq_adjust_reply() const { return seq_reply_; }
};

// True when `bytes` is in the canonical form and `out` now holds it; false otherwise (not
// necessarily malformed: the generated parser decides).
bool parse(std::string_view bytes, FlowStateView& out);
bool parse(std::string_view bytes, FlowKeyView& out);

}  // namespace ctsync::wire

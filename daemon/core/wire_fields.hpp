#pragma once
#include <cstdint>

#include "ctsync/v1/sync.pb.h"

// Field numbers of the flow messages, as the hand-written flow codec (flow_wire, flow_wire_view)
// uses them: taken from protoc's generated constants, so the codec and the .proto cannot
// disagree, with the properties the codec relies on checked when it is built.
namespace ctsync::wire::fields {

namespace tuple {
inline constexpr std::uint32_t src4 = v1::Tuple::kSrc4FieldNumber;
inline constexpr std::uint32_t dst4 = v1::Tuple::kDst4FieldNumber;
inline constexpr std::uint32_t src6 = v1::Tuple::kSrc6FieldNumber;
inline constexpr std::uint32_t dst6 = v1::Tuple::kDst6FieldNumber;
inline constexpr std::uint32_t ports = v1::Tuple::kPortsFieldNumber;
inline constexpr std::uint32_t icmp = v1::Tuple::kIcmpFieldNumber;
inline constexpr std::uint32_t last = 6;
}  // namespace tuple

namespace key {
inline constexpr std::uint32_t ipv6 = v1::FlowKey::kIpv6FieldNumber;
inline constexpr std::uint32_t protocol = v1::FlowKey::kProtocolFieldNumber;
inline constexpr std::uint32_t zone = v1::FlowKey::kZoneFieldNumber;
inline constexpr std::uint32_t original = v1::FlowKey::kOriginalFieldNumber;
inline constexpr std::uint32_t last = 4;
}  // namespace key

namespace seq {
inline constexpr std::uint32_t correction_pos = v1::SeqAdjust::kCorrectionPosFieldNumber;
inline constexpr std::uint32_t offset_before = v1::SeqAdjust::kOffsetBeforeFieldNumber;
inline constexpr std::uint32_t offset_after = v1::SeqAdjust::kOffsetAfterFieldNumber;
inline constexpr std::uint32_t last = 3;
}  // namespace seq

namespace state {
using S = v1::FlowState;
inline constexpr std::uint32_t key = S::kKeyFieldNumber;
inline constexpr std::uint32_t reply = S::kReplyFieldNumber;
inline constexpr std::uint32_t status = S::kStatusFieldNumber;
inline constexpr std::uint32_t timeout = S::kTimeoutFieldNumber;
inline constexpr std::uint32_t mark = S::kMarkFieldNumber;
inline constexpr std::uint32_t tcp = S::kTcpFieldNumber;
inline constexpr std::uint32_t sctp_state = S::kSctpStateFieldNumber;
inline constexpr std::uint32_t sctp_vtag_original = S::kSctpVtagOriginalFieldNumber;
inline constexpr std::uint32_t sctp_vtag_reply = S::kSctpVtagReplyFieldNumber;
inline constexpr std::uint32_t helper = S::kHelperFieldNumber;
inline constexpr std::uint32_t labels_low = S::kLabelsLowFieldNumber;
inline constexpr std::uint32_t labels_high = S::kLabelsHighFieldNumber;
inline constexpr std::uint32_t start_ns = S::kStartNsFieldNumber;
inline constexpr std::uint32_t seq_original = S::kSeqAdjustOriginalFieldNumber;
inline constexpr std::uint32_t seq_reply = S::kSeqAdjustReplyFieldNumber;
inline constexpr std::uint32_t last = 15;
}  // namespace state

// The view parses a message's fields as the numbers 1..last: one bit per number marks a
// repeat (so last < 32) and the highest number is its switch's default branch.
static_assert(tuple::src4 == 1 && tuple::dst4 == 2 && tuple::src6 == 3 && tuple::dst6 == 4 &&
              tuple::ports == 5 && tuple::icmp == tuple::last);
static_assert(key::ipv6 == 1 && key::protocol == 2 && key::zone == 3 && key::original == key::last);
static_assert(seq::correction_pos == 1 && seq::offset_before == 2 &&
              seq::offset_after == seq::last);
static_assert(state::key == 1 && state::reply == 2 && state::status == 3 && state::timeout == 4 &&
              state::mark == 5 && state::tcp == 6 && state::sctp_state == 7 &&
              state::sctp_vtag_original == 8 && state::sctp_vtag_reply == 9 &&
              state::helper == 10 && state::labels_low == 11 && state::labels_high == 12 &&
              state::start_ns == 13 && state::seq_original == 14 &&
              state::seq_reply == state::last);
// The encoder's fixed scratch buffer counts one byte per tag: field numbers below 16.
static_assert(state::last < 16);

}  // namespace ctsync::wire::fields

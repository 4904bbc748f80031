#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ctsync/flow_key.hpp"
#include "ctsync/tuple.hpp"

namespace ctsync {

// Connection status bits, numbered as the kernel's IPS_* bits.
namespace status {
inline constexpr std::uint32_t expected = 1u << 0;
inline constexpr std::uint32_t seen_reply = 1u << 1;
inline constexpr std::uint32_t assured = 1u << 2;
inline constexpr std::uint32_t confirmed = 1u << 3;
inline constexpr std::uint32_t src_nat = 1u << 4;
inline constexpr std::uint32_t dst_nat = 1u << 5;
inline constexpr std::uint32_t seq_adjust = 1u << 6;
inline constexpr std::uint32_t src_nat_done = 1u << 7;
inline constexpr std::uint32_t dst_nat_done = 1u << 8;
inline constexpr std::uint32_t dying = 1u << 9;
inline constexpr std::uint32_t fixed_timeout = 1u << 10;
inline constexpr std::uint32_t template_ = 1u << 11;
inline constexpr std::uint32_t untracked = 1u << 12;
inline constexpr std::uint32_t helper = 1u << 13;
inline constexpr std::uint32_t offload = 1u << 14;
inline constexpr std::uint32_t hw_offload = 1u << 15;
}  // namespace status

// TCP states, numbered as the kernel's TCP_CONNTRACK_* values.
enum class TcpState : std::uint8_t {
  none = 0,
  syn_sent = 1,
  syn_recv = 2,
  established = 3,
  fin_wait = 4,
  close_wait = 5,
  last_ack = 6,
  time_wait = 7,
  close = 8,
  syn_sent2 = 9,
};
std::string_view tcp_state_name(TcpState state);  // "ESTABLISHED", as conntrack prints it

// SCTP states, numbered as the kernel's SCTP_CONNTRACK_* values.
enum class SctpState : std::uint8_t {
  none = 0,
  closed = 1,
  cookie_wait = 2,
  cookie_echoed = 3,
  established = 4,
  shutdown_sent = 5,
  shutdown_recd = 6,
  shutdown_ack_sent = 7,
  heartbeat_sent = 8,
};
std::string_view sctp_state_name(SctpState state);

struct TcpInfo {
  TcpState state = TcpState::none;
  std::uint8_t wscale_original = 0;
  std::uint8_t wscale_reply = 0;
  std::uint8_t flags_original = 0;  // IP_CT_TCP_FLAG_* bits
  std::uint8_t flags_reply = 0;
  friend bool operator==(const TcpInfo&, const TcpInfo&) = default;
};

struct SctpInfo {
  SctpState state = SctpState::none;
  std::uint32_t vtag_original = 0;
  std::uint32_t vtag_reply = 0;
  friend bool operator==(const SctpInfo&, const SctpInfo&) = default;
};

// A conntrack helper's name ("ftp", "sip"). A host knows a handful, so flows carry a one-byte
// index into a process-wide table of names instead of the name (the kernel's limit is 15
// characters): it keeps Flow small for tables of millions.
class HelperName {
 public:
  static constexpr std::size_t max_length = 15;
  static constexpr std::size_t max_names = 255;
  // Where a name was read. Peers' names (a key holder may invent them) may fill the table only
  // up to max_names - kept_for_kernel: the names this node's own kernel uses always fit.
  enum class Origin { kernel, peer };
  static constexpr std::size_t kept_for_kernel = 64;

  HelperName() = default;
  // A name from this node's kernel. Longer names are cut to max_length. Empty once the table
  // of names is full (see intern).
  explicit HelperName(std::string_view name);
  // Nothing when the name is new and the table has no room left for its origin; counted.
  static std::optional<HelperName> intern(std::string_view name, Origin origin = Origin::kernel);
  // New names refused since the process started (kernel, peer).
  static std::uint64_t refused(Origin origin);

  std::string_view view() const;
  bool empty() const { return index_ == 0; }
  friend bool operator==(const HelperName&, const HelperName&) = default;

 private:
  std::uint8_t index_ = 0;  // 0: none
};

// conntrack labels: a 128-bit set, bit i of the kernel's label bitmap in words[i / 64].
struct Labels {
  std::array<std::uint64_t, 2> words{};
  bool empty() const { return words[0] == 0 && words[1] == 0; }
  bool test(unsigned bit) const { return bit < 128 && ((words[bit / 64] >> (bit % 64)) & 1u); }
  void set(unsigned bit) {
    if (bit < 128) words[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
  friend bool operator==(const Labels&, const Labels&) = default;
};

struct Counters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  friend bool operator==(const Counters&, const Counters&) = default;
};

// The kernel's per-direction accounting of one flow (nf_conntrack_acct). Kept beside the
// flow, not in it: only the node that owns a flow observes them, they change without events
// and are never replicated, so a peer's copy of the flow has no room for them.
struct FlowCounters {
  Counters original;
  Counters reply;
  bool empty() const { return original == Counters{} && reply == Counters{}; }
  friend bool operator==(const FlowCounters&, const FlowCounters&) = default;
};

// Where a NAT helper changed a TCP payload's length (an FTP PORT command rewritten, say), and
// by how much: the sequence-number shift the kernel applies to the rest of the stream. The
// new active node needs it, or the stream breaks at the next segment.
struct SeqAdjust {
  std::uint32_t correction_pos = 0;
  std::int32_t offset_before = 0;
  std::int32_t offset_after = 0;
  bool empty() const { return correction_pos == 0 && offset_before == 0 && offset_after == 0; }
  friend bool operator==(const SeqAdjust&, const SeqAdjust&) = default;
};

// One connection-tracking entry as a plain value: the state a peer needs to recreate it.
struct Flow {
  FlowKey key;  // zone + original tuple
  Tuple reply;
  HelperName helper;
  std::uint32_t status = 0;   // status:: bits
  std::uint32_t timeout = 0;  // seconds left when the state was captured
  std::uint32_t mark = 0;
  TcpInfo tcp;
  SctpInfo sctp;
  SeqAdjust seq_original;  // for packets in the original direction
  SeqAdjust seq_reply;
  Labels labels;
  std::uint64_t start_ns = 0;  // conntrack timestamp (ns since the epoch), 0 when off

  const Tuple& original() const { return key.original; }
  Family family() const { return key.original.family; }
  std::uint8_t protocol() const { return key.original.protocol; }
  friend bool operator==(const Flow&, const Flow&) = default;
};

// True when every replicated field of a and b is equal.
bool same_replicated_state(const Flow& a, const Flow& b);

// Which optional parts a kernel message carried. An UPDATE event carries only what changed
// (TCP state without labels, say); dumps carry everything.
namespace field {
inline constexpr std::uint16_t status = 1u << 0;
inline constexpr std::uint16_t timeout = 1u << 1;
inline constexpr std::uint16_t mark = 1u << 2;
inline constexpr std::uint16_t protoinfo = 1u << 3;
inline constexpr std::uint16_t helper = 1u << 4;
inline constexpr std::uint16_t labels = 1u << 5;
inline constexpr std::uint16_t start = 1u << 6;
inline constexpr std::uint16_t counters = 1u << 7;  // in FlowCounters, beside the flow
inline constexpr std::uint16_t seq_adjust = 1u << 8;
inline constexpr std::uint16_t all = 0x1ff;
}  // namespace field

// Overwrites in `into` the tuples and the parts of `from` that `present` names, and keeps the
// rest: how a partial event updates a stored flow.
void merge_fields(Flow& into, const Flow& from, std::uint16_t present);

}  // namespace ctsync

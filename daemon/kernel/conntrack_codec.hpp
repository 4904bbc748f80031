#pragma once
// Conversion between ctnetlink messages and Flow. Requests are built with
// libnetfilter_conntrack; messages from the kernel are read attribute by attribute with libmnl,
// which sees what the library's object model hides (the reply tuple's ICMP id after NAT, which
// attributes a partial event carried). This file and its siblings in daemon/kernel/ are the
// only ones that see netlink types.
#include <cstdint>

#include "ctsync/flow.hpp"

struct nlmsghdr;
struct nlattr;

namespace ctsync {

enum class WriteKind { create, update, remove };

struct WriteOptions {
  // Accept mid-stream TCP packets without window checks until the window is learned, as
  // conntrackd does by default; off keeps the replicated window-tracking flags exactly.
  bool tcp_be_liberal = false;
};

// Reads a CTA_TUPLE_* nest (addresses, protocol, ports or ICMP fields, and the zone when
// `zone` is given); false when it lacks what a tuple needs.
bool decode_netlink_tuple(const nlattr* nest, Family family, Tuple& t, std::uint16_t* zone);

// Reads a conntrack message (event or dump entry) with libmnl. Returns the field:: parts the
// message carried, or 0 when it is not a usable conntrack (no tuple, unknown family): the
// caller counts it. `counters` is written only when the message carried them (field::counters).
std::uint16_t decode_conntrack(const nlmsghdr* nlh, Flow& out, FlowCounters& counters);

// Writes the attributes of one request into `nlh`, whose header and nfgenmsg the caller has
// put. Applies the kernel's rules: a timeout always, NAT and helper only on create (NAT as
// the binding derived from the tuples, so the kernel sets up mangling), IPS_EXPECTED never,
// IPS_CONFIRMED always.
void encode_conntrack(nlmsghdr* nlh, const Flow& flow, WriteKind kind, const WriteOptions& opts);

}  // namespace ctsync

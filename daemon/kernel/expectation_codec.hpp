#pragma once
// Conversion between ctnetlink expectation messages (NFNL_SUBSYS_CTNETLINK_EXP) and
// Expectation, both ways with libmnl: the kernel's attributes map one to one onto the model,
// NAT and the expectation function included, which libnetfilter_conntrack's expectation
// object does not all carry.
#include <cstdint>

#include "ctsync/expectation.hpp"

struct nlmsghdr;

namespace ctsync {

// Reads an expectation event or dump entry; false when it is not usable (no tuples,
// unknown family): the caller counts it.
bool decode_expectation(const nlmsghdr* nlh, Expectation& out);

// Puts a whole request into `buf` (at least 1 KB): IPCTNL_MSG_EXP_NEW creating `e`, with its
// NAT and function, or IPCTNL_MSG_EXP_DELETE for its key. Returns the message.
nlmsghdr* encode_expectation_create(void* buf, const Expectation& e, std::uint32_t seq);
nlmsghdr* encode_expectation_delete(void* buf, const ExpectationKey& key, std::uint32_t seq);

}  // namespace ctsync

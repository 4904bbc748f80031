// What the kernel sends on the ctnetlink sockets (events and dumps of conntrack entries and
// expectations) read as the event readers read it: one receive buffer, walked message by
// message with the readers' length checks, each conntrack or expectation message decoded. The
// seeds are real dumps (make_netlink_corpus). A decoded entry must also print, as
// `ctsyncctl flows` and the logs print it.
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ctsync/expectation.hpp"
#include "ctsync/flow_format.hpp"
#include "kernel/conntrack_codec.hpp"
#include "kernel/expectation_codec.hpp"
#include "kernel/netlink_attributes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // A socket buffer is aligned; the fuzzer's bytes need not be.
  std::vector<std::uint32_t> aligned((size + 3) / 4);
  std::memcpy(aligned.data(), data, size);
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(aligned.data());
  int left = static_cast<int>(size);
  for (; ctsync::netlink::message_fits(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
    const unsigned subsystem = nlh->nlmsg_type >> 8;
    if (subsystem == NFNL_SUBSYS_CTNETLINK) {
      ctsync::Flow flow;
      ctsync::FlowCounters counters;
      if (ctsync::decode_conntrack(nlh, flow, counters) != 0) {
        if (ctsync::to_conntrack_string(flow, counters).empty()) __builtin_trap();
      }
    } else if (subsystem == NFNL_SUBSYS_CTNETLINK_EXP) {
      ctsync::Expectation e;
      if (ctsync::decode_expectation(nlh, e)) {
        if (ctsync::to_conntrack_string(e).empty()) __builtin_trap();
      }
    }
  }
  return 0;
}

#include "kernel/expectation_events.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cerrno>

#include "kernel/expectation_codec.hpp"
#include "kernel/netlink_attributes.hpp"

namespace ctsync {

Result<ExpectationEvents> ExpectationEvents::open(std::uint32_t ignore_port_id) {
  constexpr auto bit = [](unsigned g) { return 1u << (g - 1); };
  auto s = NetlinkSocket::open(bit(NFNLGRP_CONNTRACK_EXP_NEW) | bit(NFNLGRP_CONNTRACK_EXP_DESTROY),
                               "expectation events");
  if (!s) return s.error();
  if (auto r = s->set_receive_buffer(1 << 20); !r) return r.error();
  if (ignore_port_id != 0) {
    if (auto r = s->ignore_messages_from(ignore_port_id); !r) return r.error();
  }
  ExpectationEvents e(std::move(*s));
  e.buffer_.resize(MNL_SOCKET_BUFFER_SIZE * 4);
  return e;
}

ExpectationEvents::ReadResult ExpectationEvents::read(const Handler& on_event) {
  ReadResult result;
  for (int i = 0; i < 256; ++i) {  // bounded: the loop gets control back
    auto n = socket_.receive(buffer_.data(), buffer_.size(), false);
    if (!n) {
      if (n.error().code == ENOBUFS) result.overrun = true;
      return result;
    }
    if (*n == 0) return result;
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    int left = static_cast<int>(*n);
    for (; netlink::message_fits(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      const auto type = nlh->nlmsg_type & 0xff;
      if (type != IPCTNL_MSG_EXP_NEW && type != IPCTNL_MSG_EXP_DELETE) continue;
      Expectation e;
      if (!decode_expectation(nlh, e)) {
        ++result.undecodable;
        continue;
      }
      ++result.events;
      on_event(type == IPCTNL_MSG_EXP_NEW, e);
    }
  }
  return result;
}

}  // namespace ctsync

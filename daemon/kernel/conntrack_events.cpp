#include "kernel/conntrack_events.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>

#include "kernel/conntrack_codec.hpp"
#include "kernel/netlink_attributes.hpp"

namespace ctsync {

namespace {
constexpr std::size_t batch = 64;   // datagrams per recvmmsg
constexpr std::size_t slot = 8192;  // one event is well under 1 KB
constexpr unsigned group_bit(unsigned g) {
  return 1u << (g - 1);
}
}  // namespace

Result<ConntrackEvents> ConntrackEvents::open(const EventsConfig& config) {
  auto s =
      NetlinkSocket::open(group_bit(NFNLGRP_CONNTRACK_NEW) | group_bit(NFNLGRP_CONNTRACK_UPDATE) |
                              group_bit(NFNLGRP_CONNTRACK_DESTROY),
                          "events");
  if (!s) return s.error();
  auto size = s->set_receive_buffer(config.receive_buffer);
  if (!size) return size.error();
  if (config.ignore_port_id != 0) {
    if (auto r = s->ignore_messages_from(config.ignore_port_id); !r) return r.error();
  }
  ConntrackEvents e(std::move(*s), config);
  e.buffer_size_ = *size;
  e.storage_.resize(batch * slot);
  return e;
}

ConntrackEvents::ReadResult ConntrackEvents::read(const Handler& on_event,
                                                  std::size_t max_batches) {
  ReadResult result;
  mmsghdr msgs[batch];
  iovec iov[batch];
  Flow flow;
  for (std::size_t b = 0; b < max_batches; ++b) {
    for (std::size_t i = 0; i < batch; ++i) {
      iov[i] = {storage_.data() + i * slot, slot};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(fd(), msgs, batch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        result.overrun = true;
        return result;
      }
      result.drained = true;  // EAGAIN, or an error that the next read reports again
      return result;
    }
    for (int i = 0; i < n; ++i) {
      const auto* nlh =
          reinterpret_cast<const nlmsghdr*>(storage_.data() + static_cast<std::size_t>(i) * slot);
      int len = static_cast<int>(msgs[i].msg_len);
      for (; netlink::message_fits(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        const auto type = nlh->nlmsg_type & 0xff;
        ConntrackEventType kind;
        if (type == IPCTNL_MSG_CT_DELETE) {
          kind = ConntrackEventType::destroyed;
        } else if (type == IPCTNL_MSG_CT_NEW) {
          kind = (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? ConntrackEventType::created
                                                                  : ConntrackEventType::updated;
        } else {
          continue;
        }
        FlowCounters counters;
        const std::uint16_t present = decode_conntrack(nlh, flow, counters);
        if (present == 0) {
          ++result.undecodable;
          continue;
        }
        ++result.events;
        on_event(kind, flow, present, counters);
      }
    }
    if (static_cast<std::size_t>(n) < batch) {
      result.drained = true;
      return result;
    }
  }
  return result;
}

std::size_t ConntrackEvents::discard_queued() {
  std::size_t n = 0;
  char buf[slot];
  for (std::size_t i = 0; i < 1000000; ++i) {
    const ssize_t r = ::recv(fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && errno == ENOBUFS) continue;  // a further overrun while we drain
    if (r <= 0) break;
    ++n;
  }
  return n;
}

// Only the NEW group is left: with no NEW listener the kernel does not build creation events
// at all. UPDATE and DESTROY stay subscribed, because under nf_conntrack_events=2 (the
// default) an entry created while no ctnetlink listener exists (the kernel counts them across
// namespaces) gets no event extension, and would never report its changes or its end.
Result<void> ConntrackEvents::pause() {
  return socket_.set_option(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP,
                            static_cast<int>(NFNLGRP_CONNTRACK_NEW), "leave group");
}

Result<void> ConntrackEvents::resume() {
  return socket_.set_option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
                            static_cast<int>(NFNLGRP_CONNTRACK_NEW), "join group");
}

int ConntrackEvents::grow_buffer() {
  const int want = std::min(buffer_size_ * 2, config_.receive_buffer_max);
  if (want > buffer_size_) {
    if (auto r = socket_.set_receive_buffer(want); r) buffer_size_ = *r;
  }
  return buffer_size_;
}

}  // namespace ctsync

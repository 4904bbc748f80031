#include "kernel/conntrack_dump.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "kernel/conntrack_codec.hpp"
#include "kernel/netlink_attributes.hpp"

namespace ctsync {

Result<ConntrackDump> ConntrackDump::open() {
  auto s = NetlinkSocket::open(0, "dump");
  if (!s) return s.error();
  if (auto r = s->set_receive_buffer(8 << 20); !r) return r.error();
  ConntrackDump d(std::move(*s));
  d.buffer_.resize(MNL_SOCKET_BUFFER_SIZE * 32);
  return d;
}

Result<void> ConntrackDump::start(const DumpFilter& filter) {
  filter_ = filter;
  std::vector<char> req(8192);
  nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq_;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  if (filter.mark) {
    std::unique_ptr<nfct_filter_dump, void (*)(nfct_filter_dump*)> f(nfct_filter_dump_create(),
                                                                     nfct_filter_dump_destroy);
    const nfct_filter_dump_mark m{filter.mark->mark & filter.mark->mask, filter.mark->mask};
    nfct_filter_dump_set_attr(f.get(), NFCT_FILTER_DUMP_MARK, &m);
    nfct_nlmsg_build_filter(nlh, f.get());
  }
  if (auto r = socket_.send(nlh, nlh->nlmsg_len); !r) return r;
  running_ = true;
  return {};
}

Result<bool> ConntrackDump::read_some(const Handler& on_flow, std::size_t max_reads) {
  Flow flow;
  for (std::size_t i = 0; i < max_reads && running_; ++i) {
    auto n = socket_.receive(buffer_.data(), buffer_.size(), false);
    if (!n) {
      running_ = false;
      return n.error();
    }
    if (*n == 0) return false;  // the kernel fills the next chunk when we wait again
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    int len = static_cast<int>(*n);
    for (; netlink::message_fits(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq_) continue;
      if (nlh->nlmsg_type == NLMSG_DONE) {
        running_ = false;
        return true;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        running_ = false;
        if (e->error == 0) return true;
        return make_error("ctnetlink dump: " + std::string(std::strerror(-e->error)), -e->error);
      }
      FlowCounters counters;
      if (!decode_conntrack(nlh, flow, counters)) continue;
      if (filter_.zone && flow.key.zone != *filter_.zone) continue;
      on_flow(flow, counters);
    }
  }
  return !running_;
}

Result<std::size_t> ConntrackDump::run(const DumpFilter& filter, const Handler& on_flow) {
  if (auto r = start(filter); !r) return r.error();
  std::size_t count = 0;
  const Handler counting = [&](const Flow& f, const FlowCounters& c) {
    ++count;
    on_flow(f, c);
  };
  for (;;) {
    auto done = read_some(counting, 64);
    if (!done) return done.error();
    if (*done) return count;
    if (auto w = socket_.wait_readable(5000); !w) return w.error();
  }
}

}  // namespace ctsync

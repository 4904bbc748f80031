#include "kernel/conntrack_reader.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cerrno>
#include <cstring>

#include "kernel/conntrack_codec.hpp"

namespace ctsync {

Result<ConntrackReader> ConntrackReader::open() {
  auto s = NetlinkSocket::open(0, "read");
  if (!s) return s.error();
  ConntrackReader r(std::move(*s));
  r.buffer_.resize(MNL_SOCKET_BUFFER_SIZE);
  return r;
}

Result<std::optional<Flow>> ConntrackReader::get(const FlowKey& key) {
  char req[2048];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  const std::uint32_t seq = ++seq_;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = static_cast<std::uint8_t>(key.original.family);
  nfg->version = NFNETLINK_V0;
  Flow probe;
  probe.key = key;
  encode_conntrack(nlh, probe, WriteKind::remove, {});  // the tuple and zone only
  std::optional<Flow> found;
  auto r = socket_.request(nlh, buffer_, "get", [&found](const nlmsghdr* m) {
    Flow f;
    FlowCounters unused;
    if (decode_conntrack(m, f, unused)) found = f;
  });
  if (!r && r.error().code != ENOENT) return r.error();
  return found;
}

}  // namespace ctsync

#include "kernel/kernel_expectations.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "ctsync/flow_format.hpp"
#include "kernel/expectation_codec.hpp"

namespace ctsync {

Result<KernelExpectations> KernelExpectations::open() {
  auto s = NetlinkSocket::open(0, "expectations");
  if (!s) return s.error();
  KernelExpectations k(std::move(*s));
  k.buffer_.resize(MNL_SOCKET_BUFFER_SIZE * 4);
  return k;
}

Result<void> KernelExpectations::create(const Expectation& e) {
  char buf[2048];
  const std::uint32_t seq = ++seq_;
  const nlmsghdr* nlh = encode_expectation_create(buf, e, seq);
  auto r = socket_.request(nlh, buffer_, "expectation create");
  if (!r && r.error().code == EEXIST) return {};
  if (!r) {
    return make_error(r.error().message + " (expected " + to_string(e.expected) + ", master " +
                          to_string(e.master.original) + ")",
                      r.error().code);
  }
  return r;
}

Result<void> KernelExpectations::remove(const ExpectationKey& key) {
  char buf[1024];
  const std::uint32_t seq = ++seq_;
  const nlmsghdr* nlh = encode_expectation_delete(buf, key, seq);
  auto r = socket_.request(nlh, buffer_, "expectation delete");
  if (!r && r.error().code == ENOENT) return {};
  return r;
}

Result<std::vector<Expectation>> KernelExpectations::dump() {
  char req[256];
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  const std::uint32_t seq = ++seq_;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  std::vector<Expectation> out;
  auto r = socket_.request(nlh, buffer_, "expectation dump", [&out](const nlmsghdr* m) {
    Expectation e;
    if (decode_expectation(m, e)) out.push_back(std::move(e));
  });
  if (!r) return r.error();
  return out;
}

}  // namespace ctsync

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

Result<void> KernelExpectations::request(const void* msg, std::size_t len, std::uint32_t seq,
                                         const char* what) {
  if (auto r = socket_.send(msg, len); !r) return r;
  for (;;) {
    auto n = socket_.receive(buffer_.data(), buffer_.size(), true);
    if (!n) return n.error();
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    int left = static_cast<int>(*n);
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_type != NLMSG_ERROR) continue;
      const int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
      if (err == 0) return {};
      return make_error(std::string("ctnetlink expectation ") + what + ": " + std::strerror(err),
                        err);
    }
  }
}

Result<void> KernelExpectations::create(const Expectation& e) {
  char buf[2048];
  const std::uint32_t seq = ++seq_;
  const nlmsghdr* nlh = encode_expectation_create(buf, e, seq);
  auto r = request(nlh, nlh->nlmsg_len, seq, "create");
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
  auto r = request(nlh, nlh->nlmsg_len, seq, "delete");
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
  if (auto r = socket_.send(nlh, nlh->nlmsg_len); !r) return r.error();
  std::vector<Expectation> out;
  for (;;) {
    auto n = socket_.receive(buffer_.data(), buffer_.size(), true);
    if (!n) return n.error();
    const auto* m = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    int left = static_cast<int>(*n);
    for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_seq != seq) continue;
      if (m->nlmsg_type == NLMSG_DONE) return out;
      if (m->nlmsg_type == NLMSG_ERROR) {
        const int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m))->error;
        if (err == 0) return out;
        return make_error(std::string("ctnetlink expectation dump: ") + std::strerror(err), err);
      }
      Expectation e;
      if (decode_expectation(m, e)) out.push_back(std::move(e));
    }
  }
}

}  // namespace ctsync

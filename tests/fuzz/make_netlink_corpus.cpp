// Writes the seed corpus of fuzz_netlink_messages from what this kernel really sends: in a
// network namespace of its own, it listens to the conntrack and expectation event groups,
// writes flows (IPv4 and IPv6; TCP, UDP, ICMP, SCTP...; with and without NAT; an FTP master
// and an expectation under it), deletes a few, then dumps both tables, and saves every message
// it received as one file. Run as root: make_netlink_corpus tests/fuzz/corpus/netlink_messages
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_compat.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "flow_factory.hpp"
#include "kernel/conntrack_writer.hpp"
#include "kernel/kernel_expectations.hpp"

namespace {

using namespace ctsync;

// Every message in `buf` (one receive) becomes one file `prefix-N`.
int save_messages(const std::string& dir, const std::string& prefix, const char* buf, int len,
                  int next) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) continue;
    std::ofstream(dir + "/" + prefix + "-" + std::to_string(next++), std::ios::binary)
        .write(reinterpret_cast<const char*>(nlh), nlh->nlmsg_len);
  }
  return next;
}

int drain(mnl_socket* nl, const std::string& dir, const std::string& prefix) {
  std::vector<char> buf(1 << 16);
  int saved = 0;
  for (;;) {
    const ssize_t n = ::recv(mnl_socket_get_fd(nl), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return saved;
    saved = save_messages(dir, prefix, buf.data(), static_cast<int>(n), saved);
  }
}

int dump(const std::string& dir, const std::string& prefix, std::uint16_t type) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) return -1;
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    mnl_socket_close(nl);
    return -1;
  }
  std::vector<char> buf(1 << 16);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = static_cast<std::uint32_t>(::time(nullptr));
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    mnl_socket_close(nl);
    return -1;
  }
  int saved = 0;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n <= 0) break;
    saved = save_messages(dir, prefix, buf.data(), static_cast<int>(n), saved);
    const auto* last = reinterpret_cast<const nlmsghdr*>(buf.data());
    int left = static_cast<int>(n);
    bool done = false;
    for (; mnl_nlmsg_ok(last, left); last = mnl_nlmsg_next(last, &left)) {
      done = done || last->nlmsg_type == NLMSG_DONE || last->nlmsg_type == NLMSG_ERROR;
    }
    if (done) break;
  }
  mnl_socket_close(nl);
  return saved;
}

Expectation ftp_expectation(const Flow& master) {
  Expectation e;
  e.master = master.key;
  const Tuple& m = master.key.original;
  e.expected.family = e.mask.family = m.family;
  e.expected.protocol = e.mask.protocol = proto::tcp;
  e.expected.src = m.src;
  e.expected.dst = m.dst;
  e.expected.dst_port = 41000;
  const std::size_t len = m.family == Family::ipv4 ? 4 : 16;
  std::fill_n(e.mask.src.bytes.begin(), len, 0xff);
  std::fill_n(e.mask.dst.bytes.begin(), len, 0xff);
  e.mask.dst_port = 0xffff;
  e.helper = "ftp";
  e.timeout = 300;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  if (::unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (run as root)");
    return 1;
  }
  mnl_socket* events = mnl_socket_open(NETLINK_NETFILTER);
  struct Closer {
    mnl_socket* s;
    ~Closer() {
      if (s != nullptr) mnl_socket_close(s);
    }
  } closer{events};
  const unsigned groups = NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
                          NF_NETLINK_CONNTRACK_DESTROY | NF_NETLINK_CONNTRACK_EXP_NEW |
                          NF_NETLINK_CONNTRACK_EXP_DESTROY;
  if (events == nullptr || mnl_socket_bind(events, groups, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("ctnetlink events");
    return 1;
  }

  auto writer = ConntrackWriter::open({});
  auto expectations = KernelExpectations::open();
  if (!writer || !expectations) {
    std::fprintf(stderr, "ctnetlink: cannot open the writer or the expectation socket\n");
    return 1;
  }
  // Random flows cover the protocols, both families and NAT bindings (reply tuples).
  std::vector<Flow> flows = test::kernel_valid_flows(24, 7);
  Flow master = test::addressed_flow("10.1.0.2", "10.2.0.2");
  master.key.original.src_port = master.reply.dst_port = 40000;
  master.key.original.dst_port = master.reply.src_port = 21;
  master.helper = HelperName("ftp");
  master.status = status::seen_reply | status::assured;
  master.tcp.flags_original = master.tcp.flags_reply = 0x03;
  master.timeout = 3600;
  flows.push_back(master);
  Flow master6 = test::addressed_flow("fd01::2", "fd02::2");
  master6.key.original.src_port = master6.reply.dst_port = 40001;
  master6.key.original.dst_port = master6.reply.src_port = 21;
  master6.helper = HelperName("ftp");
  master6.status = master.status;
  master6.tcp = master.tcp;
  master6.timeout = 3600;
  flows.push_back(master6);
  std::vector<WriteResult> results;
  if (!writer->upsert(flows, results).ok()) return 1;
  for (const Flow* m : {&master, &master6}) {
    if (auto r = expectations->create(ftp_expectation(*m)); !r) {
      std::fprintf(stderr, "expectation: %s\n", r.error().message.c_str());
    }
  }
  std::vector<FlowKey> gone = {flows[0].key, flows[1].key};
  std::vector<int> errors;
  (void)writer->remove(gone, errors);

  const int e = drain(events, dir, "event");
  const int c = dump(dir, "dump-ct", (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
  const int x = dump(dir, "dump-exp", (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET);
  std::printf("%d event, %d conntrack and %d expectation messages written to %s\n", e, c, x,
              dir.c_str());
  return c > 0 && x > 0 ? 0 : 1;
}

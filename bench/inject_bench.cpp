// How fast flows get into a kernel conntrack table: one request per flow (with an ack), plain
// libmnl batches with acks (the kernel's own ceiling), the same from two threads, ctsyncd's
// writer at several batch sizes, and `conntrack -R` as the outside reference; each with
// nobody listening in the namespace, a listener on UPDATE+DESTROY (a sync daemon during a
// commit) and a listener on every group (a sync daemon that stays subscribed). Prints a
// Markdown table (docs/benchmarks.md).
// Usage: inject_bench [FLOWS...]   (default 10000 200000; CTSYNC_BENCH_METHOD=substring runs
// only the matching methods; CTSYNC_BENCH_BUSY_HASH=1 fills another namespace first)
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "app/kernel_write_job.hpp"
#include "bench_flows.hpp"
#include "kernel/conntrack_codec.hpp"
#include "kernel/conntrack_events.hpp"
#include "kernel/conntrack_writer.hpp"
#include "kernel/netlink_kernel.hpp"
#include "netns.hpp"
#include "pair_topology.hpp"
#include "runtime/asio_scheduler.hpp"

namespace {

using namespace ctsync;
using Clock = std::chrono::steady_clock;

constexpr unsigned group_bit(unsigned g) {
  return 1u << (g - 1);
}

// Who listens in the namespace while the flows go in. With the kernel's default
// nf_conntrack_events=2, an entry created while nobody listens gets no event extension and
// never reports its end: a sync daemon must stay subscribed to UPDATE and DESTROY. The kernel
// counts listeners across the whole host, so "nobody" holds only while no other namespace
// has one either (no daemon running elsewhere on the machine).
enum class Listening { nobody, update_destroy, all_groups };

// A listener like a sync daemon's, draining its socket.
class Listener {
 public:
  Listener(const test::Namespace& ns, unsigned groups) {
    test::EnterNamespace in(ns);
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    mnl_socket_bind(nl_, groups, MNL_SOCKET_AUTOPID);
    const int size = 64 << 20;
    ::setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    thread_ = std::thread([this] {
      std::vector<char> buf(1 << 16);
      const int fd = mnl_socket_get_fd(nl_);
      timeval tv{0, 100000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      while (!stop_) {
        if (::recv(fd, buf.data(), buf.size(), 0) > 0) ++events_;
      }
    });
  }
  ~Listener() {
    stop_ = true;
    thread_.join();
    mnl_socket_close(nl_);
  }

 private:
  mnl_socket* nl_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> events_{0};
  std::thread thread_;
};

std::uint16_t ct_type(std::uint8_t msg) {
  return static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg);
}

nlmsghdr* put_create(char* at, const Flow& f, std::uint32_t seq, std::uint16_t extra_flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(at);
  nlh->nlmsg_type = ct_type(IPCTNL_MSG_CT_NEW);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | extra_flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = static_cast<std::uint8_t>(f.family());
  nfg->version = NFNETLINK_V0;
  encode_conntrack(nlh, f, WriteKind::create, WriteOptions{});
  return nlh;
}

// (a) One request per flow, waiting for its ack.
void one_by_one(const test::Namespace& ns, const std::vector<Flow>& flows) {
  test::EnterNamespace in(ns);
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4), reply(MNL_SOCKET_BUFFER_SIZE);
  std::uint32_t seq = 1;
  for (const Flow& f : flows) {
    nlmsghdr* nlh = put_create(buf.data(), f, seq++, NLM_F_ACK);
    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
    mnl_socket_recvfrom(nl, reply.data(), reply.size());
  }
  mnl_socket_close(nl);
}

// (b) Plain libmnl batches: many requests per sendto, read back after each batch: an ack for
// each request, or (acks = false) only the error replies. What the kernel can take, measured
// without ctsyncd's code around it.
void raw_batches(const test::Namespace& ns, const std::vector<Flow>& flows, std::size_t batch,
                 bool acks_wanted) {
  test::EnterNamespace in(ns);
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID);
  const int size = 64 << 20;
  ::setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  ::setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  std::vector<char> buf(batch * 1024), reply(1 << 20);
  std::uint32_t seq = 1;
  for (std::size_t i = 0; i < flows.size(); i += batch) {
    std::size_t used = 0, n = 0;
    for (std::size_t k = i; k < std::min(flows.size(), i + batch); ++k, ++n) {
      nlmsghdr* nlh = put_create(buf.data() + used, flows[k], seq++, acks_wanted ? NLM_F_ACK : 0);
      used += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    mnl_socket_sendto(nl, buf.data(), used);
    std::size_t acks = 0;
    while (acks_wanted ? acks < n : true) {
      const ssize_t r =
          ::recv(mnl_socket_get_fd(nl), reply.data(), reply.size(), acks_wanted ? 0 : MSG_DONTWAIT);
      if (r <= 0) break;
      auto* nlh = reinterpret_cast<nlmsghdr*>(reply.data());
      int len = static_cast<int>(r);
      for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) ++acks;
    }
  }
  mnl_socket_close(nl);
}

// (b2) The same batches from two sockets on two threads, each taking half the flows.
void parallel_batches(const test::Namespace& ns, const std::vector<Flow>& flows) {
  const std::size_t half = flows.size() / 2;
  const std::vector<Flow> a(flows.begin(), flows.begin() + static_cast<std::ptrdiff_t>(half));
  const std::vector<Flow> b(flows.begin() + static_cast<std::ptrdiff_t>(half), flows.end());
  std::thread other([&] { raw_batches(ns, b, 1000, false); });
  raw_batches(ns, a, 1000, false);
  other.join();
}

// (c) ctsyncd's writer (error replies only, no acks).
void writer(const test::Namespace& ns, const std::vector<Flow>& flows, std::size_t batch) {
  WriterConfig c;
  c.batch_messages = batch;
  c.batch_bytes = batch * 512;
  auto w = [&] {
    test::EnterNamespace in(ns);
    return std::move(*ConntrackWriter::open(c));
  }();
  std::vector<WriteResult> r;
  (void)w.upsert(flows, r);
}

// (d) conntrack -R of a file of `-I ...` lines.
void restore(const test::Namespace& ns, const std::string& file) {
  (void)test::sh(ns.exec("conntrack -R " + file + " >/dev/null 2>&1"));
}

std::unique_ptr<Listener> listen(const test::Namespace& ns, Listening who) {
  switch (who) {
    case Listening::nobody:
      return nullptr;
    case Listening::update_destroy:
      return std::make_unique<Listener>(
          ns, group_bit(NFNLGRP_CONNTRACK_UPDATE) | group_bit(NFNLGRP_CONNTRACK_DESTROY));
    case Listening::all_groups:
      return std::make_unique<Listener>(ns, group_bit(NFNLGRP_CONNTRACK_NEW) |
                                                group_bit(NFNLGRP_CONNTRACK_UPDATE) |
                                                group_bit(NFNLGRP_CONNTRACK_DESTROY));
  }
  return nullptr;
}

double run(const std::vector<Flow>& flows, Listening listener,
           const std::function<void(const test::Namespace&)>& load) {
  if (std::getenv("CTSYNC_BENCH_PAIR")) {
    test::PairOptions o;
    o.accounting = false;
    test::PairTopology t(o);
    const auto l = listen(t.fw2, listener);
    const auto t0 = Clock::now();
    load(t.fw2);
    return static_cast<double>(flows.size()) /
           std::chrono::duration<double>(Clock::now() - t0).count();
  }
  // CTSYNC_BENCH_BUSY_HASH: another namespace holds as many entries meanwhile, as the active
  // node does in the side-by-side run (the conntrack hash is one for the whole host).
  std::unique_ptr<test::Namespace> other;
  if (std::getenv("CTSYNC_BENCH_BUSY_HASH")) {
    other = std::make_unique<test::Namespace>("ib-other");
    raw_batches(*other, flows, 1000, false);
  }
  test::Namespace ns("ib");
  ns.must(
      "nft add table inet t && nft add chain inet t post { type nat hook postrouting priority "
      "srcnat \\; }");
  if (std::getenv("CTSYNC_BENCH_LABELS")) {
    ns.must(
        "nft add chain inet t filter_fwd { type filter hook forward priority filter \\; } && nft "
        "add rule inet t filter_fwd ct label 127 counter");
  }
  const auto l = listen(ns, listener);
  const auto t0 = Clock::now();
  load(ns);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto count = std::stoul(ns.output("conntrack -C"));
  if (count < flows.size())
    std::fprintf(stderr, "warning: only %lu of %zu flows landed\n", count, flows.size());
  return static_cast<double>(flows.size()) / s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoul(argv[i]));
  if (sizes.empty()) sizes = {10000, 200000};
  std::printf(
      "| flows | method | nobody listens (flows/s) | a listener on UPDATE+DESTROY (flows/s) | a "
      "listener on all groups (flows/s) |\n|---|---|---|---|---|\n");
  for (std::size_t n : sizes) {
    const auto flows = bench::flows(n, 7);
    const std::string file = "/tmp/inject-bench-" + std::to_string(::getpid()) + ".txt";
    bench::write_restore_file(flows, file);
    struct Method {
      std::string name;
      std::function<void(const test::Namespace&)> load;
    };
    std::vector<Method> methods = {
        {"one request per flow, with ack",
         [&](const test::Namespace& ns) { one_by_one(ns, flows); }},
        {"libmnl batches of 1000, acks",
         [&](const test::Namespace& ns) { raw_batches(ns, flows, 1000, true); }},
        {"libmnl batches of 1000, errors only",
         [&](const test::Namespace& ns) { raw_batches(ns, flows, 1000, false); }},
        {"libmnl batches of 1000, two sockets on two threads",
         [&](const test::Namespace& ns) { parallel_batches(ns, flows); }},
        {"ctsyncd writer, batch 100", [&](const test::Namespace& ns) { writer(ns, flows, 100); }},
        {"ctsyncd writer, batch 1000", [&](const test::Namespace& ns) { writer(ns, flows, 1000); }},
        {"ctsyncd writer, batch 4000", [&](const test::Namespace& ns) { writer(ns, flows, 4000); }},
        {"ctsyncd writer, its own listener paused (off NEW)",
         [&](const test::Namespace& ns) {
           auto events = [&] {
             test::EnterNamespace in(ns);
             return std::move(*ConntrackEvents::open({}));
           }();
           if (!events.pause()) std::fprintf(stderr, "pause failed\n");
           writer(ns, flows, 1000);
           (void)events.resume();
         }},
        {"KernelWriteJob, chunks of 2000, its own listener paused",
         [&](const test::Namespace& ns) {
           boost::asio::io_context io;
           auto kernel = [&] {
             test::EnterNamespace in(ns);
             NetlinkKernelConfig kc;
             kc.expectations = false;
             return std::move(*NetlinkKernel::open(io, kc));
           }();
           (void)kernel->pause_creation_events();
           AsioScheduler loop(io);
           std::size_t i = 0;
           auto job = std::make_shared<app::KernelWriteJob>(
               loop, *kernel, app::KernelWriteJob::Mode::upsert, 2000,
               [&](Flow& out) {
                 if (i >= flows.size()) return false;
                 out = flows[i++];
                 return true;
               },
               [](const WriteReport&) {});
           job->start();
           io.run();
         }},
        {"conntrack -R", [&](const test::Namespace& ns) { restore(ns, file); }},
    };
    const char* only = std::getenv("CTSYNC_BENCH_METHOD");
    for (const auto& m : methods) {
      if (only != nullptr && m.name.find(only) == std::string::npos) continue;
      // Median of three.
      auto median = [&](Listening listener) {
        std::vector<double> v;
        for (int r = 0; r < 3; ++r) v.push_back(run(flows, listener, m.load));
        std::sort(v.begin(), v.end());
        return v[1];
      };
      const double none = median(Listening::nobody);
      const double some = median(Listening::update_destroy);
      const double all = median(Listening::all_groups);
      std::printf("| %zu | %s | %.0f | %.0f | %.0f |\n", n, m.name.c_str(), none, some, all);
      std::fflush(stdout);
    }
    std::remove(file.c_str());
  }
  return 0;
}

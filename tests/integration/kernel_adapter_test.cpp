// The kernel adapter against the real conntrack table, in namespaces of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "conntrack_cli.hpp"
#include "ctsync/flow_format.hpp"
#include "flow_factory.hpp"
#include "kernel/conntrack_dump.hpp"
#include "kernel/conntrack_events.hpp"
#include "kernel/conntrack_writer.hpp"
#include "routed_topology.hpp"

namespace ctsync {
namespace {

using test::CtEntry;
using test::Namespace;
using test::RoutedTopology;

// nftables on the firewall: marks, a label, a zone, and SNAT/DNAT for some ports only, so one
// run has flows with and without each kind of NAT.
const char* kFirewallRules = R"(
table inet t {
  chain raw_pre {
    type filter hook prerouting priority raw; policy accept;
    udp dport 5353 ct zone set 3
    udp sport 5353 ct zone set 3
  }
  chain dnat_pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr 10.2.0.9 tcp dport 82 dnat ip to 10.2.0.3
    ip6 daddr fd02::9 tcp dport 82 dnat ip6 to fd02::3
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct mark set 0x2a
    ct label set 5
  }
  chain snat_post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" tcp dport 81 masquerade
    oifname "wan" meta l4proto icmp masquerade
  }
}
)";

template <typename T>
T in_ns(const Namespace& ns, const std::function<T()>& make) {
  test::EnterNamespace enter(ns);
  return make();
}

ConntrackEvents open_events(const Namespace& ns, std::uint32_t ignore = 0, int buffer = 8 << 20) {
  test::EnterNamespace enter(ns);
  EventsConfig c;
  c.ignore_port_id = ignore;
  c.receive_buffer = buffer;
  auto e = ConntrackEvents::open(c);
  if (!e) throw std::runtime_error(e.error().message);
  return std::move(*e);
}

ConntrackDump open_dump(const Namespace& ns) {
  test::EnterNamespace enter(ns);
  auto d = ConntrackDump::open();
  if (!d) throw std::runtime_error(d.error().message);
  return std::move(*d);
}

ConntrackWriter open_writer(const Namespace& ns, WriterConfig c = {}) {
  test::EnterNamespace enter(ns);
  auto w = ConntrackWriter::open(c);
  if (!w) throw std::runtime_error(w.error().message);
  return std::move(*w);
}

std::vector<Flow> dump_all(ConntrackDump& d, DumpFilter filter = {}) {
  std::vector<Flow> out;
  auto r = d.run(filter, [&](const Flow& f, const FlowCounters&) { out.push_back(f); });
  if (!r) throw std::runtime_error(r.error().message);
  return out;
}

// Our dump printed as conntrack -L prints it, counters included.
std::map<std::string, CtEntry> dump_listing(ConntrackDump& d) {
  std::string text;
  auto r = d.run(
      {}, [&](const Flow& f, const FlowCounters& c) { text += to_conntrack_string(f, c) + "\n"; });
  if (!r) throw std::runtime_error(r.error().message);
  return test::parse_ct_listing(text);
}

std::map<std::string, CtEntry> conntrack_listing(const Namespace& ns) {
  return test::parse_ct_listing(ns.output("conntrack -L -o extended 2>/dev/null"));
}

struct Event {
  ConntrackEventType type;
  Flow flow;
  std::uint16_t present;
  FlowCounters counters;
};

std::vector<Event> collect(ConntrackEvents& ev, bool* overrun = nullptr) {
  std::vector<Event> out;
  for (int i = 0; i < 100; ++i) {
    auto r =
        ev.read([&](ConntrackEventType t, const Flow& f, std::uint16_t p, const FlowCounters& c) {
          out.push_back({t, f, p, c});
        });
    if (overrun && r.overrun) *overrun = true;
    if (r.drained) break;
  }
  return out;
}

const Event* find_event(const std::vector<Event>& evs, ConntrackEventType type, std::uint8_t proto,
                        std::uint16_t dport, Family fam) {
  for (const auto& e : evs) {
    if (e.type == type && e.flow.protocol() == proto && e.flow.family() == fam &&
        (e.flow.key.original.dst_port == dport || protocol_is_icmp(proto))) {
      return &e;
    }
  }
  return nullptr;
}

class KernelAdapter : public ::testing::Test {
 protected:
  void SetUp() override {
    topo_ = std::make_unique<RoutedTopology>();
    topo_->ruleset(kFirewallRules);
    topo_->fw.must("sysctl -qw net.netfilter.nf_conntrack_acct=1");
  }
  std::unique_ptr<RoutedTopology> topo_;
};

TEST_F(KernelAdapter, EventsCarryTuplesNatMarkZoneAndLabels) {
  auto& t = *topo_;
  ConntrackEvents events = open_events(t.fw);

  for (const char* fam : {"4", "6"}) {
    const bool v6 = fam[0] == '6';
    const std::string srv = v6 ? "fd02::2" : "10.2.0.2";
    const std::string dnat_srv = v6 ? "fd02::3" : "10.2.0.3";
    const std::string dnat_vip = v6 ? "fd02::9" : "10.2.0.9";
    const Family F = v6 ? Family::ipv6 : Family::ipv4;
    test::TcpSession plain, snat, dnat;
    test::open_tcp(plain, t, srv, srv, 80);
    test::open_tcp(snat, t, srv, srv, 81);
    test::open_tcp(dnat, t, dnat_srv, dnat_vip, 82);
    ASSERT_TRUE(test::round_trip(plain) && test::round_trip(snat) && test::round_trip(dnat));
    test::udp_exchange(t, srv, srv, 5353);
    ASSERT_EQ(t.client.run(std::string("ping -") + fam + " -c1 -W2 " + srv + " >/dev/null"), 0);

    const auto evs = collect(events);
    const Event* n80 = find_event(evs, ConntrackEventType::created, proto::tcp, 80, F);
    const Event* u80 = find_event(evs, ConntrackEventType::updated, proto::tcp, 80, F);
    const Event* n81 = find_event(evs, ConntrackEventType::created, proto::tcp, 81, F);
    const Event* n82 = find_event(evs, ConntrackEventType::created, proto::tcp, 82, F);
    const Event* udp = find_event(evs, ConntrackEventType::created, proto::udp, 5353, F);
    const Event* icmp =
        find_event(evs, ConntrackEventType::created, v6 ? proto::icmpv6 : proto::icmp, 0, F);
    ASSERT_TRUE(n80 && u80 && n81 && n82 && udp && icmp) << "family " << fam;

    EXPECT_EQ(n80->flow.key.original.src_port, plain.client_port);
    EXPECT_EQ(n80->flow.reply, invert(n80->flow.key.original)) << "no NAT on port 80";
    EXPECT_EQ(to_string(F, n80->flow.key.original.dst), srv);
    EXPECT_EQ(u80->flow.protocol(), proto::tcp);
    // SNAT (masquerade to the wan address) shows in the reply tuple.
    EXPECT_EQ(to_string(F, n81->flow.reply.dst), v6 ? "fd02::1" : "10.2.0.1");
    // DNAT: the reply comes from the real server.
    EXPECT_EQ(to_string(F, n82->flow.key.original.dst), dnat_vip);
    EXPECT_EQ(to_string(F, n82->flow.reply.src), dnat_srv);
    EXPECT_EQ(udp->flow.key.zone, 3);
    EXPECT_EQ(to_string(F, icmp->flow.reply.dst), v6 ? "fd01::2" : "10.2.0.1")
        << "ICMP SNAT (v4 only)";

    // Mark and label come from the forward chain; the mark rides on every event, the label
    // on the event that set it (the NEW one), and the state on UPDATE events.
    EXPECT_EQ(n80->flow.mark, 0x2au);
    EXPECT_TRUE(n80->flow.labels.test(5));
    bool established = false;
    for (const auto& e : evs) {
      if (e.flow.key == n80->flow.key && e.type == ConntrackEventType::updated) {
        EXPECT_EQ(e.flow.mark, 0x2au);
        established = established || e.flow.tcp.state == TcpState::established;
      }
    }
    EXPECT_TRUE(established) << "family " << fam;
  }

  // DESTROY: removed by the conntrack tool (another port id), so we see it.
  ASSERT_EQ(t.fw.run("conntrack -D -p udp >/dev/null 2>&1"), 0);
  const auto evs = collect(events);
  int destroyed_udp = 0;
  for (const auto& e : evs) {
    if (e.type == ConntrackEventType::destroyed && e.flow.protocol() == proto::udp) ++destroyed_udp;
  }
  EXPECT_EQ(destroyed_udp, 2);
}

TEST_F(KernelAdapter, DumpMatchesConntrackToolEntryForEntry) {
  auto& t = *topo_;
  test::TcpSession a, b, c, d;
  test::open_tcp(a, t, "10.2.0.2", "10.2.0.2", 80);
  test::open_tcp(b, t, "fd02::2", "fd02::2", 81);
  test::open_tcp(c, t, "10.2.0.3", "10.2.0.9", 82);
  test::open_tcp(d, t, "fd02::3", "fd02::9", 82);
  for (auto* s : {&a, &b, &c, &d}) ASSERT_TRUE(test::round_trip(*s));
  test::udp_exchange(t, "10.2.0.2", "10.2.0.2", 5353);
  ASSERT_EQ(t.client.run("ping -c1 -W2 10.2.0.2 >/dev/null && ping -6 -c1 -W2 fd02::2 >/dev/null"),
            0);

  ConntrackDump dump = open_dump(t.fw);
  const auto ours = dump_listing(dump);
  const auto theirs = conntrack_listing(t.fw);
  ASSERT_GE(ours.size(), 7u);
  ASSERT_EQ(ours.size(), theirs.size());
  for (const auto& [key, entry] : theirs) {
    auto it = ours.find(key);
    ASSERT_NE(it, ours.end()) << "missing from our dump: " << key;
    EXPECT_EQ(test::compare_entries(entry, it->second, 2, true), "") << key;
  }

  // Filters: by mark in the kernel, by zone here.
  const auto marked = dump_all(dump, DumpFilter{MarkFilter{0x2a, 0xff}, std::nullopt});
  EXPECT_EQ(marked.size(), ours.size());
  EXPECT_TRUE(dump_all(dump, DumpFilter{MarkFilter{0x7, 0xff}, std::nullopt}).empty());
  const auto zoned = dump_all(dump, DumpFilter{std::nullopt, std::uint16_t{3}});
  ASSERT_EQ(zoned.size(), 1u);
  EXPECT_EQ(zoned[0].protocol(), proto::udp);
}

TEST_F(KernelAdapter, DumpOneNamespaceInjectAnotherAndCompareFieldByField) {
  auto& t = *topo_;
  test::TcpSession a, b, c, d, e;
  test::open_tcp(a, t, "10.2.0.2", "10.2.0.2", 80);
  test::open_tcp(b, t, "10.2.0.2", "10.2.0.2", 81);  // SNAT
  test::open_tcp(c, t, "10.2.0.3", "10.2.0.9", 82);  // DNAT
  test::open_tcp(d, t, "fd02::2", "fd02::2", 81);    // SNAT, IPv6
  test::open_tcp(e, t, "fd02::3", "fd02::9", 82);    // DNAT, IPv6
  for (auto* s : {&a, &b, &c, &d, &e}) ASSERT_TRUE(test::round_trip(*s));
  test::udp_exchange(t, "10.2.0.2", "10.2.0.2", 5353);  // zone 3
  test::udp_exchange(t, "fd02::2", "fd02::2", 5353);
  ASSERT_EQ(t.client.run("ping -c1 -W2 10.2.0.2 >/dev/null"), 0);  // ICMP with SNAT

  ConntrackDump dump_a = open_dump(t.fw);
  const std::vector<Flow> flows = dump_all(dump_a);
  ASSERT_GE(flows.size(), 8u);

  // B: a bare namespace whose ruleset registers NAT hooks and uses labels, as a firewall's
  // would; otherwise the kernel drops labels and cannot mangle.
  Namespace b_ns("inj");
  b_ns.must(
      "nft add table inet t && "
      "nft add chain inet t post { type nat hook postrouting priority srcnat \\; } && "
      "nft add chain inet t pre { type nat hook prerouting priority dstnat \\; } && "
      "nft add chain inet t filter_fwd { type filter hook forward priority filter \\; } && "
      "nft add rule inet t filter_fwd ct label 127 counter");
  WriterConfig wc;
  ConntrackWriter writer = open_writer(b_ns, wc);
  std::vector<WriteResult> results;
  ASSERT_TRUE(writer.upsert(flows, results).ok());
  for (std::size_t i = 0; i < flows.size(); ++i) {
    EXPECT_EQ(results[i].outcome, WriteOutcome::created)
        << to_conntrack_string(flows[i]) << ": " << std::strerror(results[i].error);
  }

  const auto a_list = conntrack_listing(t.fw);
  const auto b_list = conntrack_listing(b_ns);
  ASSERT_EQ(a_list.size(), b_list.size());
  for (const auto& [key, entry] : a_list) {
    auto it = b_list.find(key);
    ASSERT_NE(it, b_list.end()) << "not injected: " << key;
    EXPECT_EQ(test::compare_entries(entry, it->second, 2, false), "") << key;
  }
  // Labels and TCP window data are not in the tool's output: compare our own dumps.
  ConntrackDump dump_b = open_dump(b_ns);
  std::map<std::string, Flow> b_flows;
  for (const Flow& f : dump_all(dump_b))
    b_flows[to_string(f.key.original) + std::to_string(f.key.zone)] = f;
  for (const Flow& f : flows) {
    const Flow& g = b_flows.at(to_string(f.key.original) + std::to_string(f.key.zone));
    EXPECT_EQ(g.labels, f.labels) << to_conntrack_string(f);
    EXPECT_EQ(g.tcp, f.tcp) << to_conntrack_string(f);
    EXPECT_EQ(g.reply, f.reply) << to_conntrack_string(f);
  }

  // Injecting again updates in place (same NAT): nothing is created or duplicated.
  ASSERT_TRUE(writer.upsert(flows, results).ok());
  for (const auto& r : results) EXPECT_EQ(r.outcome, WriteOutcome::updated);
  EXPECT_EQ(conntrack_listing(b_ns).size(), flows.size());

  // A different NAT binding under the same original tuple is replaced, not kept.
  std::vector<Flow> renat;
  for (const Flow& f : flows) {
    if (f.protocol() == proto::tcp && f.family() == Family::ipv4 &&
        f.reply == invert(f.key.original)) {
      Flow g = f;
      g.reply.dst = IpAddress::v4(10, 2, 0, 77);  // now SNATed
      renat.push_back(g);
    }
  }
  ASSERT_FALSE(renat.empty());
  ASSERT_TRUE(writer.upsert(renat, results).ok());
  for (const auto& r : results) EXPECT_EQ(r.outcome, WriteOutcome::replaced);
  auto now_b = writer.get(renat[0].key);
  ASSERT_TRUE(now_b.ok() && now_b->has_value());
  EXPECT_EQ((*now_b)->reply.dst, IpAddress::v4(10, 2, 0, 77));
}

TEST_F(KernelAdapter, AnEntryCreatedByTheReplyDirectionIsReplaced) {
  // The failover race: a server packet arrives at the new active node before the commit and
  // creates an entry whose original tuple is our reply tuple.
  Namespace b_ns("race");
  ConntrackWriter writer = open_writer(b_ns);
  Flow f;
  f.key.original.protocol = proto::tcp;
  f.key.original.src = IpAddress::v4(10, 1, 0, 2);
  f.key.original.dst = IpAddress::v4(10, 2, 0, 2);
  f.key.original.src_port = 40000;
  f.key.original.dst_port = 80;
  f.reply = invert(f.key.original);
  f.status = status::seen_reply | status::assured;
  f.timeout = 300;
  f.tcp.state = TcpState::established;
  Flow wrong;  // as if seen first from the server's side
  wrong.key.original = f.reply;
  wrong.reply = f.key.original;
  wrong.timeout = 60;
  wrong.tcp.state = TcpState::syn_sent;
  std::vector<WriteResult> r;
  ASSERT_TRUE(writer.upsert(std::vector<Flow>{wrong}, r).ok());
  ASSERT_EQ(r[0].outcome, WriteOutcome::created);
  ASSERT_TRUE(writer.upsert(std::vector<Flow>{f}, r).ok());
  EXPECT_EQ(r[0].outcome, WriteOutcome::replaced);
  auto got = writer.get(f.key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->key.original, f.key.original);
  EXPECT_EQ((*got)->tcp.state, TcpState::established);
}

std::vector<Flow> synthetic_flows(std::size_t n, std::uint64_t seed) {
  auto flows = test::kernel_valid_flows(n, seed);
  for (auto& f : flows) f.labels = Labels();  // this namespace uses no labels
  return flows;
}

TEST(KernelAdapterBulk, InjectsOneHundredThousandFlowsWithItsOwnListenerSubscribed) {
  Namespace ns("bulk");
  ns.must(
      "nft add table inet t && nft add chain inet t post { type nat hook postrouting priority "
      "srcnat \\; }");
  ConntrackWriter writer = open_writer(ns);
  ConntrackEvents own = open_events(ns, writer.port_id(), 8 << 20);
  const auto flows = synthetic_flows(100000, 99);

  std::vector<WriteResult> results;
  ASSERT_TRUE(writer.upsert(flows, results).ok());
  std::size_t created = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    created += results[i].outcome == WriteOutcome::created;
    if (results[i].outcome != WriteOutcome::created)
      ADD_FAILURE() << to_conntrack_string(flows[i]) << ": " << std::strerror(results[i].error);
  }
  EXPECT_EQ(created, flows.size());

  ConntrackDump dump = open_dump(ns);
  std::size_t present = 0;
  ASSERT_TRUE(dump.run({}, [&](const Flow&, const FlowCounters&) { ++present; }).ok());
  EXPECT_EQ(present, flows.size());

  bool overrun = false;
  const auto evs = collect(own, &overrun);
  EXPECT_FALSE(overrun) << "our own injections must not flood our event socket";
  EXPECT_EQ(evs.size(), 0u) << "events our writer caused are dropped in the kernel";

  // Without the filter, a listener of the same size drowns: the filter is what keeps us safe.
  ConntrackEvents unfiltered = open_events(ns, 0, 1 << 20);
  std::vector<FlowKey> keys;
  for (std::size_t i = 0; i < 20000; ++i) keys.push_back(flows[i].key);
  std::vector<int> errors;
  ASSERT_TRUE(writer.remove(keys, errors).ok());
  bool other_overrun = false;
  const auto seen = collect(unfiltered, &other_overrun);
  EXPECT_TRUE(other_overrun || seen.size() == keys.size());
  EXPECT_EQ(collect(own).size(), 0u);
  ASSERT_TRUE(writer.flush(std::nullopt).ok());
}

// nf_conntrack_max is global: the test lowers it, so it holds a ctest RESOURCE_LOCK and puts
// the old value back whatever happens.
class ConntrackMaxGuard {
 public:
  explicit ConntrackMaxGuard(long value) {
    std::ifstream("/proc/sys/net/netfilter/nf_conntrack_max") >> saved_;
    std::ofstream("/proc/sys/net/netfilter/nf_conntrack_max") << value;
  }
  ~ConntrackMaxGuard() { std::ofstream("/proc/sys/net/netfilter/nf_conntrack_max") << saved_; }

 private:
  long saved_ = 0;
};

TEST(KernelAdapterFull, FullTableReportsExactlyWhichFlowsFailedAndWhy) {
  Namespace ns("full");
  ConntrackWriter writer = open_writer(ns);
  const auto flows = synthetic_flows(1500, 7);
  std::vector<WriteResult> results;
  {
    ConntrackMaxGuard guard(1000);
    ASSERT_TRUE(writer.upsert(flows, results).ok());
  }
  std::size_t ok = 0, full = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].outcome == WriteOutcome::created) {
      ++ok;
    } else {
      EXPECT_EQ(results[i].error, ENOMEM) << std::strerror(results[i].error);
      ++full;
      auto g = writer.get(flows[i].key);
      ASSERT_TRUE(g.ok());
      EXPECT_FALSE(g->has_value()) << "a flow reported as failed must not be in the table";
    }
  }
  EXPECT_EQ(ok, 1000u);
  EXPECT_EQ(full, 500u);
  ConntrackDump dump = open_dump(ns);
  std::size_t present = 0;
  ASSERT_TRUE(dump.run({}, [&](const Flow&, const FlowCounters&) { ++present; }).ok());
  EXPECT_EQ(present, 1000u);

  // With room again, the same call completes the job.
  ASSERT_TRUE(writer.upsert(flows, results).ok());
  for (const auto& r : results) EXPECT_NE(r.outcome, WriteOutcome::failed);
}

}  // namespace
}  // namespace ctsync

// The takeover hold's decisions and the parts they stand on, with simulated time: the tuple
// read from a packet's headers, the reply-tuple index of a peer's copy, which packet waits and
// for how long, and what becomes of flows written before a promotion.
#include <gtest/gtest.h>

#include <random>

#include "../app/fake_queue.hpp"
#include "core/packet_tuple.hpp"
#include "core/takeover_hold.hpp"
#include "core/takeover_record.hpp"
#include "ctsync/flow_table.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

// A SNATed TCP flow: client 10.1.0.5:40000 -> server 192.0.2.7:443, leaving as 198.51.100.1:61000.
Flow snat_flow(std::uint16_t client_port = 40000) {
  Flow f = test::addressed_flow("10.1.0.5", "192.0.2.7");
  f.key.original.src_port = client_port;
  f.key.original.dst_port = 443;
  f.reply = invert(f.key.original);
  f.reply.dst = *parse_address(Family::ipv4, "198.51.100.1");
  f.reply.dst_port = static_cast<std::uint16_t>(client_port + 21000);
  f.status = status::src_nat | status::seen_reply | status::assured;
  return f;
}

TEST(PacketTuple, ReadsIpv4AndIpv6TransportHeaders) {
  const Flow f = snat_flow();
  EXPECT_EQ(packet_tuple(test::packet_bytes(f.key.original)), f.key.original);
  EXPECT_EQ(packet_tuple(test::packet_bytes(f.reply)), f.reply);
  Flow v6 = test::addressed_flow("fd00::5", "2001:db8::7", proto::udp);
  v6.key.original.src_port = 5353;
  v6.key.original.dst_port = 53;
  EXPECT_EQ(packet_tuple(test::packet_bytes(v6.key.original)), v6.key.original);
  Flow ping = test::addressed_flow("10.1.0.5", "192.0.2.7", proto::icmp);
  ping.key.original.icmp_type = 8;
  ping.key.original.icmp_id = 77;
  EXPECT_EQ(packet_tuple(test::packet_bytes(ping.key.original)), ping.key.original);
}

TEST(PacketTuple, SkipsIpv6ExtensionHeaders) {
  Flow f = test::addressed_flow("fd00::5", "2001:db8::7");
  f.key.original.src_port = 1000;
  f.key.original.dst_port = 22;
  auto p = test::packet_bytes(f.key.original);
  // A hop-by-hop header (8 bytes) between the IPv6 header and TCP.
  const std::uint8_t hbh[8] = {proto::tcp, 0, 0, 0, 0, 0, 0, 0};
  p[6] = 0;
  p.insert(p.begin() + 40, hbh, hbh + 8);
  EXPECT_EQ(packet_tuple(p), f.key.original);
}

TEST(PacketTuple, RefusesWhatConntrackWouldNotFindByTuple) {
  const Flow f = snat_flow();
  auto p = test::packet_bytes(f.key.original);
  auto later_fragment = p;
  later_fragment[7] = 0x10;  // fragment offset 16
  EXPECT_FALSE(packet_tuple(later_fragment));
  EXPECT_FALSE(packet_tuple(std::span(p).first(22)));  // cut inside the ports
  EXPECT_FALSE(packet_tuple({}));
  Flow err = test::addressed_flow("10.1.0.5", "192.0.2.7", proto::icmp);
  err.key.original.icmp_type = 3;  // destination unreachable: related to the flow inside
  EXPECT_FALSE(packet_tuple(test::packet_bytes(err.key.original)));
  auto bad_ihl = p;
  bad_ihl[0] = 0x4f;  // 60-byte header in a 28-byte packet
  EXPECT_FALSE(packet_tuple(bad_ihl));
}

TEST(FlowTableReplyIndex, FindsEveryFlowByItsReplyThroughInsertsErasesAndRewrites) {
  FlowTable<> table;
  table.index_replies();
  std::map<FlowKey, Flow, decltype([](const FlowKey& a, const FlowKey& b) {
             return std::memcmp(&a, &b, sizeof a) < 0;
           })>
      model;
  std::mt19937 rng(5);
  for (int step = 0; step < 20000; ++step) {
    const auto port = static_cast<std::uint16_t>(1000 + rng() % 3000);
    Flow f = snat_flow(port);
    switch (rng() % 4) {
      case 0:
      case 1:
        table.upsert(f);
        model[f.key] = f;
        break;
      case 2:
        table.erase(f.key);
        model.erase(f.key);
        break;
      default:
        if (auto e = table.find(f.key)) {
          // A new NAT binding, or none: the reply index holds only flows whose reply is not
          // their original inverted, and a rewrite moves a flow in or out of it.
          if (rng() % 2) {
            f.reply.dst_port = static_cast<std::uint16_t>(26000 + step);
          } else {
            f.reply = invert(f.key.original);
          }
          table.assign(e->position, f);
          model[f.key] = f;
        }
    }
  }
  ASSERT_EQ(table.size(), model.size());
  ASSERT_GT(model.size(), 500u);
  for (const auto& [key, f] : model) {
    const auto e = table.find_by_reply(0, f.reply);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->flow.key, key);
  }
  EXPECT_LT(table.reply_index_size(), model.size()) << "flows without NAT take no reply slot";
  EXPECT_GT(table.reply_index_size(), 0u);
  EXPECT_FALSE(table.find_by_reply(1, model.begin()->second.reply)) << "zones differ";
  table.clear();
  EXPECT_FALSE(table.find_by_reply(0, model.begin()->second.reply));
}

TEST(FlowTableReplyIndex, CanBeTurnedOnForAFilledTable) {
  FlowTable<> table;
  const auto flows = test::kernel_valid_flows(300, 4);
  for (const Flow& f : flows) table.upsert(f);
  EXPECT_FALSE(table.find_by_reply(flows[7].key.zone, flows[7].reply));
  table.index_replies();
  for (const Flow& f : flows) EXPECT_TRUE(table.find_by_reply(f.key.zone, f.reply));
}

const TimePoint t0{};

TEST(TakeoverHold, OnlyPacketsOfFlowsThatOnlyAPeerHoldsWait) {
  TakeoverHold hold;
  const FlowKey k = snat_flow().key;
  EXPECT_EQ(hold.on_packet(1, nullptr, false, t0).verdict, TakeoverHold::Verdict::pass)
      << "nobody knows the flow: a new connection, our own traffic";
  EXPECT_EQ(hold.on_packet(2, &k, true, t0).verdict, TakeoverHold::Verdict::pass)
      << "the kernel has it already";
  const auto d = hold.on_packet(3, &k, false, t0);
  EXPECT_EQ(d.verdict, TakeoverHold::Verdict::hold);
  EXPECT_TRUE(d.write);
  const auto d2 = hold.on_packet(4, &k, false, t0 + milliseconds(1));
  EXPECT_EQ(d2.verdict, TakeoverHold::Verdict::hold);
  EXPECT_FALSE(d2.write) << "one write per flow, however many packets wait";
  EXPECT_EQ(hold.written(k, true, false, t0 + milliseconds(3)), (std::vector<std::uint32_t>{3, 4}));
  EXPECT_EQ(hold.on_packet(5, &k, false, t0 + milliseconds(4)).verdict, TakeoverHold::Verdict::pass)
      << "written: later packets go straight on";
  EXPECT_TRUE(hold.written_on_demand(k));
  EXPECT_EQ(hold.counters().held, 2u);
  EXPECT_EQ(hold.counters().released, 2u);
  EXPECT_EQ(hold.counters().passed, 3u);
  EXPECT_EQ(hold.counters().longest_hold, milliseconds(3));
  EXPECT_EQ(hold.first_held(), t0);
}

TEST(TakeoverHold, NoPacketWaitsLongerThanTheBound) {
  TakeoverHold hold(HoldSettings{milliseconds(200), 100, seconds(5)});
  const FlowKey k = snat_flow().key;
  hold.on_packet(1, &k, false, t0);
  hold.on_packet(2, &k, false, t0 + milliseconds(150));
  EXPECT_EQ(hold.next_deadline(), t0 + milliseconds(200));
  EXPECT_TRUE(hold.expire(t0 + milliseconds(199)).empty());
  EXPECT_EQ(hold.expire(t0 + milliseconds(200)), std::vector<std::uint32_t>{1});
  EXPECT_EQ(hold.expire(t0 + milliseconds(350)), std::vector<std::uint32_t>{2});
  EXPECT_EQ(hold.counters().released_late, 2u);
  EXPECT_TRUE(hold.written(k, true, true, t0 + milliseconds(400)).empty())
      << "a late write finds nothing left to release";
}

TEST(TakeoverHold, BeyondItsSizeTheHoldPassesPacketsOn) {
  TakeoverHold hold(HoldSettings{milliseconds(200), 2, seconds(5)});
  const FlowKey a = snat_flow(1000).key, b = snat_flow(2000).key;
  EXPECT_EQ(hold.on_packet(1, &a, false, t0).verdict, TakeoverHold::Verdict::hold);
  EXPECT_EQ(hold.on_packet(2, &b, false, t0).verdict, TakeoverHold::Verdict::hold);
  EXPECT_EQ(hold.on_packet(3, &b, false, t0).verdict, TakeoverHold::Verdict::pass);
  EXPECT_EQ(hold.counters().overflow, 1u);
  EXPECT_EQ(hold.release_all(t0 + milliseconds(1)), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(hold.holding(), 0u);
}

TEST(TakeoverHold, AFailedWriteLetsItsPacketsGoAndIsNotRetriedPerPacket) {
  TakeoverHold hold;
  const FlowKey k = snat_flow().key;
  hold.on_packet(1, &k, false, t0);
  EXPECT_EQ(hold.written(k, false, true, t0), std::vector<std::uint32_t>{1});
  EXPECT_FALSE(hold.on_packet(2, &k, false, t0).write);
  EXPECT_FALSE(hold.written_on_demand(k)) << "the commit must try it again";
  EXPECT_EQ(hold.counters().write_failures, 1u);
  EXPECT_EQ(hold.counters().flows_written, 0u);
}

TEST(TakeoverHold, EarlyWritesWithNoPromotionAgeOutAndAPromotionKeepsThem) {
  TakeoverHold hold(HoldSettings{milliseconds(200), 100, seconds(5)});
  const FlowKey stray = snat_flow(1000).key, kept = snat_flow(2000).key;
  hold.on_packet(1, &stray, false, t0);
  hold.written(stray, true, false, t0);
  EXPECT_EQ(hold.next_deadline(), t0 + seconds(5));
  EXPECT_TRUE(hold.take_stale_early_writes(t0 + seconds(4)).empty());
  EXPECT_EQ(hold.take_stale_early_writes(t0 + seconds(5)), std::vector<FlowKey>{stray});
  EXPECT_FALSE(hold.written_on_demand(stray)) << "a later takeover writes it again";

  hold.on_packet(2, &kept, false, t0 + seconds(6));
  hold.written(kept, true, false, t0 + seconds(6));
  hold.promoted();
  EXPECT_TRUE(hold.take_stale_early_writes(t0 + seconds(60)).empty());
  EXPECT_TRUE(hold.written_on_demand(kept));
  hold.reset();
  EXPECT_FALSE(hold.written_on_demand(kept));
  EXPECT_FALSE(hold.first_held());
}

TEST(TakeoverRecord, TheHistoryKeepsTheLastFewAndSurvivesItsText) {
  TakeoverHistory h;
  for (int i = 0; i < 10; ++i) {
    TakeoverRecord r;
    r.promoted_at_ms = 1'800'000'000'000 + i;
    r.first_held_s = -1.25;
    r.commit_start_s = 0.001;
    if (i != 9) r.commit_end_s = 0.5;
    r.flows_on_demand = 40;
    r.flows_committed = 200000;
    r.failed = 3;
    r.failures = {{12, 3}};
    r.packets_held = 90;
    h.add(r);
  }
  ASSERT_EQ(h.records().size(), TakeoverHistory::kept);
  const auto back = TakeoverHistory::decode(h.encode());
  ASSERT_EQ(back.records().size(), h.records().size());
  for (std::size_t i = 0; i < back.records().size(); ++i)
    EXPECT_EQ(back.records()[i], h.records()[i]) << i;
  EXPECT_NE(h.records().back().summary().find("not done"), std::string::npos);
  // Torn or foreign lines are skipped, never a reason to fail.
  const auto mixed = TakeoverHistory::decode("garbage\nat=12 on_demand=x\nat=13 newkey=1\n\n");
  ASSERT_EQ(mixed.records().size(), 1u);
  EXPECT_EQ(mixed.records()[0].promoted_at_ms, 13);
}

}  // namespace
}  // namespace ctsync

#include "ctsync/packed_flows.hpp"

#include <gtest/gtest.h>

#include <random>

#include "ctsync/flow_table.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

Flow ipv4_tcp(std::uint32_t serial) {
  return test::addressed_flow(
      ("10.0." + std::to_string(serial >> 8 & 0xff) + "." + std::to_string(serial & 0xff)).c_str(),
      "192.0.2.1");
}

// Every flow the generator makes (both families, TCP/UDP/ICMP/SCTP/GRE, NAT, zones, labels,
// helpers, sequence adjustments, timestamps) reads back exactly as stored, through pushes,
// rewrites and removals that move the last record into a hole.
TEST(PackedFlows, EveryFlowReadsBackExactlyAsStored) {
  std::mt19937_64 rng(77);
  PackedFlows store;
  std::vector<Flow> model;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const Flow f = test::random_flow(rng, i);
    store.push_back(f);
    model.push_back(f);
  }
  for (int step = 0; step < 5000; ++step) {
    const std::size_t pos = rng() % model.size();
    if (rng() % 3 == 0) {
      store.remove(pos);
      model[pos] = model.back();
      model.pop_back();
    } else {
      Flow f = test::random_flow(rng, static_cast<std::uint32_t>(rng()));
      f.key = model[pos].key;  // a rewrite keeps the key; reply, NAT and the rest may change
      if (f.reply.family != f.family()) f.reply = invert(f.key.original);
      store.set(pos, f);
      model[pos] = f;
    }
  }
  ASSERT_EQ(store.size(), model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    ASSERT_EQ(store.flow(i), model[i]) << i;
    EXPECT_EQ(store.key(i), model[i].key);
    EXPECT_EQ(store.reply(i), model[i].reply);
    EXPECT_EQ(store.reply_is_inverted(i), model[i].reply == invert(model[i].original()));
  }
}

TEST(PackedFlows, EachKindOfFlowTakesOnlyTheRoomItNeeds) {
  PackedFlows store;
  store.push_back(ipv4_tcp(1));  // the common case: the record alone
  Flow snat = ipv4_tcp(2);
  snat.reply.dst = IpAddress::v4(203, 0, 113, 9);
  snat.reply.dst_port = 61000;
  store.push_back(snat);  // NAT: the reply in the record too
  Flow ping = test::addressed_flow("10.0.0.3", "192.0.2.1", proto::icmp);
  ping.key.original.icmp_type = 8;
  ping.key.original.icmp_id = 77;
  ping.key.original.icmp_code = 3;  // not what an echo carries, but every byte must come back
  ping.reply = invert(ping.key.original);
  ping.reply.icmp_id = 1234;  // a translated query id
  store.push_back(ping);
  EXPECT_EQ(store.wide_count(), 0u);
  EXPECT_EQ(store.whole_count(), 0u);
  store.push_back(test::addressed_flow("fd00::1", "fd00::2"));  // IPv6: addresses aside
  EXPECT_EQ(store.wide_count(), 1u);
  Flow labelled = ipv4_tcp(5);
  labelled.labels.set(3);
  store.push_back(labelled);  // what the record has no room for: the flow whole, aside
  Flow odd = ipv4_tcp(6);
  odd.key.original.icmp_id = 5;  // a byte a TCP tuple does not use: kept, so kept whole
  odd.reply = invert(odd.key.original);
  store.push_back(odd);
  EXPECT_EQ(store.whole_count(), 2u);
  for (std::size_t i = 0; i < store.size(); ++i)
    EXPECT_TRUE(store.reply_is_inverted(i) == (i != 1 && i != 2)) << i;
  EXPECT_EQ(store.flow(2), ping);
  EXPECT_EQ(store.flow(5), odd);
  // Removing the flows kept aside gives their room back to the next ones.
  store.remove(4);
  store.remove(3);
  EXPECT_EQ(store.wide_count(), 0u);
  EXPECT_EQ(store.whole_count(), 1u);
  EXPECT_EQ(store.flow(3), odd);
}

// What the memory benchmark measures at a million flows, in bytes per flow, here from the
// table's own accounting: IPv4 TCP without NAT in the internal cache's shape (a record and
// 12 bytes of metadata) and in the external cache's (8 bytes, and the reply index).
TEST(PackedFlows, AnIpv4FlowWithoutNatCostsUnderAHundredBytesInATable) {
  struct Meta12 {
    std::uint32_t a, b, c;
  };
  FlowTable<Meta12> local;
  FlowTable<std::uint64_t> copy;
  copy.index_replies();
  const std::uint32_t n = 1 << 17;
  for (std::uint32_t i = 0; i < n; ++i) {
    Flow f = ipv4_tcp(i);
    f.key.original.src_port = static_cast<std::uint16_t>(i);
    f.key.original.src.bytes[1] = static_cast<std::uint8_t>(i >> 16);
    f.reply = invert(f.key.original);
    local.upsert(f);
    copy.upsert(f);
  }
  ASSERT_EQ(local.size(), n);
  EXPECT_EQ(copy.reply_index_size(), 0u);
  EXPECT_LE(local.memory_bytes() / n, 100u);
  EXPECT_LE(copy.memory_bytes() / n, 100u);
}

}  // namespace
}  // namespace ctsync

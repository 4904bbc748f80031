#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ctsync/flow_table.hpp"

namespace ctsync {
namespace {

Flow make_flow(std::uint32_t i) {
  Flow f;
  f.key.original.family = (i % 3 == 0) ? Family::ipv6 : Family::ipv4;
  f.key.original.protocol = (i % 2) ? proto::tcp : proto::udp;
  f.key.original.src.bytes[0] = 10;
  f.key.original.src.bytes[1] = static_cast<std::uint8_t>(i >> 16);
  f.key.original.src.bytes[2] = static_cast<std::uint8_t>(i >> 8);
  f.key.original.src.bytes[3] = static_cast<std::uint8_t>(i);
  f.key.original.dst.bytes[0] = 192;
  f.key.original.src_port = static_cast<std::uint16_t>(1024 + i % 50000);
  f.key.original.dst_port = 80;
  f.reply = invert(f.key.original);
  f.timeout = i;
  return f;
}

TEST(FlowTable, UpsertReportsWhatChanged) {
  FlowTable<> t;
  Flow f = make_flow(1);
  EXPECT_EQ(t.upsert(f).second, FlowTable<>::Change::inserted);
  EXPECT_EQ(t.upsert(f).second, FlowTable<>::Change::unchanged);
  f.mark = 9;
  EXPECT_EQ(t.upsert(f).second, FlowTable<>::Change::updated);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find_flow(f.key)->mark, 9u);
}

TEST(FlowTable, MetadataSurvivesUpdates) {
  FlowTable<int> t;
  t.upsert(make_flow(1), 42);
  t.upsert(make_flow(1), 7);
  EXPECT_EQ(t.find(make_flow(1).key)->meta, 42);
}

// Random inserts and removals checked against std::map as a model, so that backward-shift
// deletion and the swap-with-last removal are exercised across many collisions and resizes.
TEST(FlowTable, MatchesAReferenceMapUnderRandomOperations) {
  FlowTable<> t;
  std::map<std::uint32_t, std::uint32_t> model;  // id -> timeout
  std::mt19937 rng(12345);
  for (int step = 0; step < 200000; ++step) {
    const std::uint32_t id = rng() % 5000;
    if (rng() % 3 == 0) {
      EXPECT_EQ(t.erase(make_flow(id).key), model.erase(id) == 1);
    } else {
      Flow f = make_flow(id);
      f.timeout = rng();
      t.upsert(f);
      model[id] = f.timeout;
    }
  }
  ASSERT_EQ(t.size(), model.size());
  for (const auto& [id, timeout] : model) {
    const auto f = t.find_flow(make_flow(id).key);
    ASSERT_TRUE(f) << id;
    EXPECT_EQ(f->timeout, timeout);
  }
  std::size_t seen = 0;
  for (const auto& e : t) {
    ++seen;
    EXPECT_NE(model.count(static_cast<std::uint32_t>(e.flow.key.original.src.bytes[3] |
                                                     e.flow.key.original.src.bytes[2] << 8 |
                                                     e.flow.key.original.src.bytes[1] << 16)),
              0u);
  }
  EXPECT_EQ(seen, model.size());
}

// Growing must not move stored flows: a copy of a million of them stalled the event loop for
// tens of milliseconds, and the kernel's event queue overflowed meanwhile.
TEST(FlowTable, GrowingLeavesStoredFlowsInPlace) {
  FlowTable<int> t;
  t.upsert(make_flow(0), 7);
  const int* first = t.find_meta(make_flow(0).key);
  for (std::uint32_t i = 1; i < 20000; ++i) t.upsert(make_flow(i));
  EXPECT_EQ(t.find_meta(make_flow(0).key), first);
  EXPECT_EQ(&t.entries()[0].meta, first);
  EXPECT_EQ(t.position(make_flow(19999).key), 19999u);
  EXPECT_EQ(t.position(make_flow(20000).key), FlowTable<>::npos);
}

TEST(FlowTable, EraseIfAndClear) {
  FlowTable<> t;
  for (std::uint32_t i = 0; i < 1000; ++i) t.upsert(make_flow(i));
  EXPECT_EQ(t.erase_if([](const auto& e) { return e.flow.timeout % 2 == 0; }), 500u);
  EXPECT_EQ(t.size(), 500u);
  EXPECT_FALSE(t.find_flow(make_flow(2).key));
  EXPECT_TRUE(t.find_flow(make_flow(3).key));
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.find_flow(make_flow(3).key));
  t.upsert(make_flow(3));
  EXPECT_TRUE(t.find_flow(make_flow(3).key));
}

}  // namespace
}  // namespace ctsync

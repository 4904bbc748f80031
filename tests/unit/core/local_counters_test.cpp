// The kernel's per-flow counters live beside the internal cache, not in each entry: a flow
// that never had any takes no room for them, and a flow's counters leave with it.
#include <gtest/gtest.h>

#include "core/sync_engine.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

TEST(LocalCounters, KeptPerFlowUpdatedInPlaceAndGoneWithTheFlow) {
  SyncEngine e(EngineConfig{}, nullptr, TimePoint{});
  const Flow a = test::addressed_flow("10.0.0.1", "192.0.2.1");
  const Flow b = test::addressed_flow("10.0.0.2", "192.0.2.1");
  const FlowCounters ca{{3, 300}, {2, 120}};
  e.local_upsert(a, &ca);
  e.local_upsert(b);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(a.key)), ca);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(b.key)), FlowCounters{});
  EXPECT_EQ(e.local().find_meta(b.key)->counters, 0u) << "no counters seen: no room taken";

  const FlowCounters grown{{5, 500}, {4, 240}};
  e.local_refresh(a, grown);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(a.key)), grown);
  e.local_refresh(b, ca);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(b.key)), ca);
  EXPECT_EQ(e.flows_with_counters(), 2u);

  // a leaves; a new flow must not inherit its counters, and b keeps its own.
  e.local_erase(a.key);
  const Flow c = test::addressed_flow("10.0.0.3", "192.0.2.1");
  e.local_upsert(c);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(c.key)), FlowCounters{});
  e.local_upsert(a);
  EXPECT_EQ(e.counters_of(*e.local().find_meta(a.key)), FlowCounters{});
  EXPECT_EQ(e.counters_of(*e.local().find_meta(b.key)), ca);
  EXPECT_EQ(e.flows_with_counters(), 1u) << "a's counters left with it";
  e.local_clear();
  EXPECT_EQ(e.flows_with_counters(), 0u);
}

}  // namespace
}  // namespace ctsync

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/flow_listing.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

SyncEngine engine_with(std::size_t n) {
  EngineConfig c;
  c.node_id = 1;
  c.boot_id = 1;
  SyncEngine e(c, nullptr, TimePoint{});
  for (const Flow& f : test::kernel_valid_flows(n, 5)) e.local_upsert(f);
  return e;
}

TEST(FlowListing, ALargeTableIsListedInPagesThatMakeOneValidJsonArray) {
  SyncEngine e = engine_with(3000);
  ControlRequest req;
  req.command = ControlCommand::flows;
  req.json = true;
  FlowListing listing(e, req);
  std::string all, page;
  int pages = 0;
  bool more = true;
  while (more && pages < 1000) {
    page.clear();
    more = listing.next(page);
    EXPECT_LE(page.size(), FlowListing::page_bytes + 4096);
    all += page;
    ++pages;
  }
  EXPECT_GT(pages, 1);
  const auto j = nlohmann::json::parse(all);
  EXPECT_EQ(j.size(), 3000u);
}

TEST(FlowListing, TheLimitAndAnEmptyTable) {
  SyncEngine e = engine_with(50);
  ControlRequest req;
  req.limit = 7;
  FlowListing listing(e, req);
  std::string out;
  while (listing.next(out)) {
  }
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 7);
  SyncEngine empty = engine_with(0);
  req.json = true;
  req.table = FlowTableChoice::external;
  FlowListing none(empty, req);
  std::string o;
  EXPECT_FALSE(none.next(o));
  EXPECT_EQ(o, "[]\n");
}

}  // namespace
}  // namespace ctsync

// The accept lists on a running pair: the active node replicates only what its [filter]
// accepts, and a reload (SIGHUP) that drops the list replicates the rest after a resync.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "flow_factory.hpp"
#include "kernel/conntrack_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

// Node 1's configuration with `lines` added to its [filter] table.
void write_filter(const PairTopology& t, const std::string& lines) {
  t.write_config(1);
  std::string text;
  {
    std::ifstream in(t.config_path(1));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.insert(text.find("[filter]\n") + 9, lines);
  std::ofstream(t.config_path(1)) << text;
}

TEST(FilterReload, AcceptProtocolsKeepsOutTheRestUntilAReloadDropsIt) {
  PairTopology t;
  write_filter(t, "accept_protocols = [\"tcp\"]\n");
  t.start_daemon_with(1, t.config_path(1));
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);

  const auto flows = test::kernel_valid_flows(200, 77);
  std::size_t tcp = 0;
  for (const auto& f : flows) tcp += f.protocol() == proto::tcp ? 1 : 0;
  ASSERT_GT(tcp, 0u);
  ASSERT_LT(tcp, flows.size()) << "the negative control needs flows of other protocols";
  {
    test::EnterNamespace in(t.fw1);
    auto w = ConntrackWriter::open({});
    ASSERT_TRUE(w.ok()) << w.error().message;
    std::vector<WriteResult> r;
    ASSERT_TRUE(w->upsert(flows, r).ok());
  }
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == tcp; }, 10000ms))
      << t.external_count(2) << " of " << tcp;
  for (const auto& f : nlohmann::json::parse(t.ctl_output(2, "flows --external --json"))) {
    EXPECT_EQ(f["protocol"], "tcp") << f.dump();
  }

  write_filter(t, "");
  t.d1.signal(SIGHUP);
  ASSERT_TRUE(PairTopology::wait_for(
      [&] { return t.d1.log().find("reloaded:") != std::string::npos; }, 10000ms))
      << t.d1.log();
  ASSERT_EQ(t.ctl(1, "resync"), 0);
  EXPECT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == flows.size(); }, 10000ms))
      << t.external_count(2) << " of " << flows.size();
}

}  // namespace
}  // namespace ctsync

// A key rotation by SIGHUP, as docs/operations.md "Keys: rotation without a gap" does it,
// while the active node's table keeps changing: add key 2 on both nodes, send with it, drop
// key 1. No datagram may be refused (unknown_key, auth_failed) or lost (a gap) on either node,
// and every flow reaches the backup. The control: a sender moved to a key its peer does not
// hold is refused at once.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "flow_factory.hpp"
#include "kernel/conntrack_writer.hpp"
#include "pair_topology.hpp"

namespace ctsync {
namespace {

using namespace std::chrono_literals;
using test::PairTopology;

// Node `node`'s configuration with its keys (and send key) replaced.
void write_keys(const PairTopology& t, int node, const std::string& keys, int send_id) {
  t.write_config(node);
  std::string text;
  {
    std::ifstream in(t.config_path(node));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string one = "[[sync.keys]]\nid = 1\nfile = \"" + t.dir + "/sync.key\"\n";
  text.replace(text.find(one), one.size(), keys);
  const std::string sync = "heartbeat_interval_ms = 100\n";
  text.insert(text.find(sync) + sync.size(), "send_key_id = " + std::to_string(send_id) + "\n");
  std::ofstream(t.config_path(node)) << text;
}

std::string key_table(int id, const std::string& file) {
  return "[[sync.keys]]\nid = " + std::to_string(id) + "\nfile = \"" + file + "\"\n";
}

TEST(KeyRotation, BySighupWithoutARefusedOrLostDatagram) {
  PairTopology t;
  const std::string key1 = t.dir + "/sync.key", key2 = t.dir + "/sync2.key",
                    key3 = t.dir + "/sync3.key";
  for (const auto& [path, text] :
       {std::pair{key2, "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"},
        std::pair{key3, "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91"}}) {
    std::ofstream(path) << text << "\n";
    ::chmod(path.c_str(), 0600);
  }
  t.start_daemon(1);
  t.start_daemon(2);
  ASSERT_EQ(t.ctl(1, "promote"), 0);
  ASSERT_TRUE(PairTopology::wait_for([&] { return t.ctl(2, "ready") == 0; }, 10000ms));

  // The active node's table changes all through the rotation.
  std::atomic<bool> writing{true};
  std::atomic<std::size_t> written{0};
  std::thread writer([&] {
    test::EnterNamespace in(t.fw1);
    auto w = ConntrackWriter::open({});
    if (!w) return;
    std::vector<WriteResult> r;
    for (std::uint32_t batch = 0; writing && batch < 400; ++batch) {
      const auto flows = test::kernel_valid_flows(20, 900 + batch, 1 + batch * 20);
      if (w->upsert(flows, r).ok()) written += flows.size();
      std::this_thread::sleep_for(20ms);
    }
  });
  std::size_t reloads[3] = {0, 0, 0};
  auto reload_both = [&] {
    for (int node : {1, 2}) {
      auto& d = node == 1 ? t.d1 : t.d2;
      d.signal(SIGHUP);
      const std::size_t seen = ++reloads[node];
      ASSERT_TRUE(PairTopology::wait_for(
          [&] {
            const std::string log = d.log();
            std::size_t n = 0;
            for (auto at = log.find("reloaded:"); at != std::string::npos;
                 at = log.find("reloaded:", at + 1)) {
              ++n;
            }
            return n >= seen;
          },
          10000ms))
          << d.log();
    }
  };
  // docs/operations.md, steps 2 to 4.
  for (int node : {1, 2}) write_keys(t, node, key_table(1, key1) + key_table(2, key2), 1);
  reload_both();
  for (int node : {1, 2}) write_keys(t, node, key_table(1, key1) + key_table(2, key2), 2);
  reload_both();
  for (int node : {1, 2}) write_keys(t, node, key_table(2, key2), 2);
  reload_both();
  std::this_thread::sleep_for(300ms);  // the writer goes on under key 2 alone
  writing = false;
  writer.join();

  ASSERT_GT(written.load(), 0u);
  EXPECT_TRUE(PairTopology::wait_for([&] { return t.external_count(2) == written; }, 10000ms))
      << t.external_count(2) << " of " << written;
  for (int node : {1, 2}) {
    const auto s = t.stats(node);
    EXPECT_EQ(s["dropped"]["unknown_key"], 0) << "node " << node << ": " << s.dump();
    EXPECT_EQ(s["dropped"]["auth_failed"], 0) << "node " << node;
    EXPECT_EQ(s["sync"]["gaps_detected"], 0) << "node " << node << ": a datagram was lost";
  }

  // The control: fw1 moves to a key fw2 does not hold; fw2 refuses what it sends.
  write_keys(t, 1, key_table(2, key2) + key_table(3, key3), 3);
  t.d1.signal(SIGHUP);
  EXPECT_TRUE(PairTopology::wait_for(
      [&] { return t.stats(2)["dropped"]["unknown_key"].get<int>() > 0; }, 10000ms));
}

}  // namespace
}  // namespace ctsync

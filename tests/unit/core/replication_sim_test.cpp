// The replication protocol on a simulated network: after traffic stops and the protocol
// settles, every backup's copy must equal the active node's table in every replicated field.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "core/flow_codec.hpp"
#include "ctsync/flow_format.hpp"
#include "flow_factory.hpp"
#include "sim_network.hpp"

namespace ctsync {
namespace {

using sim::LinkProfile;
using sim::Network;

// How many operations a convergence run applies; ASan builds scale it down via the
// environment so the sanitizer job stays inside the CI budget.
std::size_t scaled(std::size_t n) {
  if (const char* s = std::getenv("CTSYNC_SIM_SCALE"))
    return std::max<std::size_t>(1000, n / std::strtoul(s, nullptr, 10));
  return n;
}

// Full comparison of a node's own table with a peer's copy of it. Returns "" when equal.
std::string compare(const LocalTable& source, const PeerTable& copy) {
  if (source.size() != copy.size()) {
    return "sizes differ: source " + std::to_string(source.size()) + ", copy " +
           std::to_string(copy.size());
  }
  for (const auto& e : source) {
    const auto c = copy.find_flow(e.flow.key);
    if (!c) return "missing in copy: " + to_string(e.flow.key.original);
    if (!same_replicated_state(e.flow, *c)) return "differs: " + to_string(e.flow.key.original);
  }
  return {};
}

const PeerTable* copy_of(Network& net, std::size_t holder, std::size_t source) {
  const auto& peers = net.node(holder).peers();
  auto it = peers.find(static_cast<std::uint32_t>(source + 1));
  return it == peers.end() ? nullptr : &it->second->table();
}

// Mixed upserts, updates and deletes against the source node's table.
class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  void step(SyncEngine& source) {
    const auto dice = rng_() % 10;
    if (live_.empty() || dice < 5) {
      Flow f = test::random_flow(rng_, serial_++);
      live_.push_back(f.key);
      source.local_upsert(f);
    } else if (dice < 8) {
      const FlowKey& k = live_[rng_() % live_.size()];
      Flow f = *source.local().find_flow(k);
      test::evolve(f, rng_);
      source.local_upsert(f);
    } else {
      const std::size_t i = rng_() % live_.size();
      source.local_erase(live_[i]);
      live_[i] = live_.back();
      live_.pop_back();
    }
  }

 private:
  std::mt19937_64 rng_;
  std::vector<FlowKey> live_;
  std::uint32_t serial_ = 1;
};

struct Scenario {
  std::uint64_t seed = 1;
  LinkProfile link;
  std::size_t nodes = 2;
  std::size_t ops = 100000;
  std::size_t ops_per_ms = 20;
  EngineConfig config;
  // Called once per simulated millisecond of the workload with the elapsed milliseconds.
  std::function<void(Network&, std::size_t ms)> during;
};

struct Outcome {
  std::string diff;           // "" when every copy equals the source
  double settle_seconds = 0;  // from the end of the workload to convergence
  std::uint64_t bytes = 0;    // every datagram every node sent
  std::uint64_t resync_requests = 0;
  std::uint64_t unrepairable = 0;
  // Resyncs that loss caused: a gap beyond the sender's window, a digest that disagreed. (Each
  // receiver also asks once when it first hears a peer: a bulk bound to its boot.)
  std::uint64_t loss_resyncs = 0;
  std::uint64_t retransmits = 0;
  std::size_t flows = 0;
};

Outcome run(const Scenario& sc) {
  Network net(sc.seed, sc.link);
  for (std::size_t i = 0; i < sc.nodes; ++i) net.add_node(sc.config);
  net.node(0).set_role(Role::active, net.now());
  net.node(0).announce_table();
  net.run_for(milliseconds(500));

  Workload work(sc.seed * 7919);
  std::size_t done = 0;
  for (std::size_t ms = 0; done < sc.ops; ++ms) {
    for (std::size_t k = 0; k < sc.ops_per_ms && done < sc.ops; ++k, ++done) work.step(net.node(0));
    if (sc.during) sc.during(net, ms);
    net.run_for(milliseconds(1));
  }
  const TimePoint stopped = net.now();

  Outcome out;
  for (int step = 0; step < 1200; ++step) {  // up to 120 simulated seconds
    net.run_for(milliseconds(100));
    out.diff.clear();
    for (std::size_t b = 1; b < sc.nodes && out.diff.empty(); ++b) {
      const PeerTable* copy = copy_of(net, b, 0);
      out.diff = copy ? compare(net.node(0).local(), *copy) : "no copy yet";
      if (out.diff.empty() && !net.node(b).ready(net.now())) out.diff = "copy equal but not ready";
    }
    if (out.diff.empty()) break;
  }
  out.settle_seconds = std::chrono::duration<double>(net.now() - stopped).count();
  out.bytes = net.bytes_sent();
  EXPECT_EQ(net.oversized(), 0u) << "datagrams larger than max_packet_bytes";
  out.flows = net.node(0).local().size();
  for (std::size_t b = 0; b < sc.nodes; ++b) {
    out.resync_requests += net.node(b).counters().resync_requests_sent;
    out.unrepairable += net.node(b).counters().gaps_unrepairable;
    out.loss_resyncs +=
        net.node(b).counters().gaps_unrepairable + net.node(b).counters().digest_mismatches;
    out.retransmits += net.node(b).counters().retransmits;
  }
  return out;
}

TEST(ReplicationSim, LosslessLinkConverges) {
  Scenario sc;
  sc.ops = scaled(100000);
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
  EXPECT_EQ(o.loss_resyncs, 0u);
  EXPECT_EQ(o.resync_requests, 1u) << "the backup's first contact only";
  EXPECT_EQ(o.retransmits, 0u);
}

// The convergence table of the protocol issue: loss rates over 20 seeds each, 100 000
// operations per run. Prints bytes and settle time per loss rate.
TEST(ReplicationSim, ConvergesUnderLossOverManySeeds) {
  const double losses[] = {0.0, 0.01, 0.10, 0.30, 0.50};
  const int seeds = std::getenv("CTSYNC_SIM_SCALE") ? 3 : 20;
  std::uint64_t lossless_bytes = 0;
  std::printf("%-6s %-6s %-12s %-10s %-10s %-8s\n", "loss", "seeds", "bytes(mean)", "ratio",
              "settle(s)", "resyncs");
  for (double loss : losses) {
    double bytes = 0, settle = 0;
    std::uint64_t resyncs = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
      Scenario sc;
      sc.seed = static_cast<std::uint64_t>(seed);
      sc.link.loss = loss;
      sc.ops = scaled(100000);
      const Outcome o = run(sc);
      ASSERT_EQ(o.diff, "") << "loss " << loss << " seed " << seed;
      bytes += static_cast<double>(o.bytes) / seeds;
      settle = std::max(settle, o.settle_seconds);
      resyncs += o.resync_requests;
      if (loss <= 0.10) {
        EXPECT_EQ(o.loss_resyncs, 0u) << "no bulk resync may be needed at loss " << loss;
      }
    }
    if (loss == 0.0) lossless_bytes = static_cast<std::uint64_t>(bytes);
    const double ratio = bytes / static_cast<double>(lossless_bytes);
    std::printf("%-6.2f %-6d %-12.0f %-10.3f %-10.1f %-8llu\n", loss, seeds, bytes, ratio, settle,
                static_cast<unsigned long long>(resyncs));
    if (loss <= 0.10) {
      EXPECT_LE(ratio, 1.5 / (1.0 - loss)) << "bytes at loss " << loss;
    }
  }
}

TEST(ReplicationSim, DuplicationReorderingAndJitter) {
  Scenario sc;
  sc.seed = 42;
  sc.link.loss = 0.05;
  sc.link.duplicate = 0.2;
  sc.link.jitter = milliseconds(50);
  sc.ops = scaled(50000);
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
}

TEST(ReplicationSim, PartitionThatHeals) {
  Scenario sc;
  sc.seed = 7;
  sc.link.loss = 0.01;
  sc.ops = scaled(100000);
  sc.ops_per_ms = 2;  // 50 s of traffic (5 s scaled down), of which 60 % cut off
  const std::size_t length_ms = sc.ops / sc.ops_per_ms;
  sc.during = [length_ms](Network& net, std::size_t ms) {
    if (ms == length_ms / 10) net.set_partitioned(1, true);
    if (ms == length_ms * 7 / 10) net.set_partitioned(1, false);
  };
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
  EXPECT_GT(o.resync_requests + o.retransmits, 0u) << "the partition must have been noticed";
}

TEST(ReplicationSim, SenderRestartKeepsTheTable) {
  Scenario sc;
  sc.seed = 11;
  sc.link.loss = 0.05;
  sc.ops = scaled(60000);
  // A third into the workload, whatever its scaled length.
  const std::size_t restart_ms = sc.ops / sc.ops_per_ms / 3;
  sc.during = [restart_ms](Network& net, std::size_t ms) {
    if (ms != restart_ms) return;
    // The daemon restarts while the kernel keeps its table: the new engine re-reads it.
    std::vector<Flow> kernel;
    for (const auto& e : net.node(0).local()) kernel.push_back(e.flow);
    SyncEngine& fresh = net.restart(0);
    for (const auto& f : kernel) fresh.local_upsert(f);
    fresh.set_role(Role::active, net.now());
    fresh.announce_table();
  };
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
}

TEST(ReplicationSim, ReceiverRestartRefetchesEverything) {
  Scenario sc;
  sc.seed = 12;
  sc.link.loss = 0.05;
  sc.ops = scaled(60000);
  const std::size_t restart_ms = sc.ops / sc.ops_per_ms / 2;
  sc.during = [restart_ms](Network& net, std::size_t ms) {
    if (ms == restart_ms) net.restart(1);
  };
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
  EXPECT_GT(o.resync_requests, 0u);
}

TEST(ReplicationSim, ThreeNodesEachBackupTracksTheActive) {
  Scenario sc;
  sc.seed = 13;
  sc.nodes = 3;
  sc.link.loss = 0.10;
  sc.ops = scaled(50000);
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
}

TEST(ReplicationSim, TinyWindowWaitsInsteadOfDropping) {
  Scenario sc;
  sc.seed = 14;
  sc.link.loss = 0.10;
  sc.config.sender.window_packets = 8;
  sc.ops = scaled(30000);
  const Outcome o = run(sc);
  EXPECT_EQ(o.diff, "");
}

// Corrupt one field of one flow once in transit (at the plaintext level, as a bug would).
// Without anti-entropy the comparison must see it: the test would be red. With the digest
// on, the receiver notices the mismatch and repairs its copy with a bulk.
Network::Tamper corrupt_first_upsert(bool* done) {
  return [done](std::size_t from, std::size_t, std::string& bytes) {
    if (*done || from != 0) return;
    v1::Packet p;
    if (!p.ParseFromString(bytes) || p.upserts_size() < 3) return;
    p.mutable_upserts(2)->set_mark(p.upserts(2).mark() ^ 0x40u);
    bytes = p.SerializeAsString();
    *done = true;
  };
}

TEST(ReplicationSim, CorruptionInTransitIsCaughtByTheComparison) {
  Scenario sc;
  sc.seed = 15;
  sc.ops = scaled(20000);
  sc.config.digest_interval = seconds(100000);  // anti-entropy off
  bool done = false;
  // Late in the workload, so no later update of the flow overwrites the damage.
  const std::size_t last_ms = sc.ops / sc.ops_per_ms - 5;
  sc.during = [&done, last_ms](Network& net, std::size_t ms) {
    if (ms == last_ms) net.set_tamper(corrupt_first_upsert(&done));
  };
  const Outcome o = run(sc);
  EXPECT_TRUE(done);
  EXPECT_NE(o.diff, "") << "a corrupted field must make the full comparison fail";
}

TEST(ReplicationSim, DigestRepairsSilentCorruption) {
  Scenario sc;
  sc.seed = 15;
  sc.ops = scaled(20000);
  sc.config.digest_interval = seconds(2);
  bool done = false;
  const std::size_t last_ms = sc.ops / sc.ops_per_ms - 5;
  sc.during = [&done, last_ms](Network& net, std::size_t ms) {
    if (ms == last_ms) net.set_tamper(corrupt_first_upsert(&done));
  };
  const Outcome o = run(sc);
  EXPECT_TRUE(done);
  EXPECT_EQ(o.diff, "");
  EXPECT_GT(o.resync_requests, 0u);
}

// A bulk's datagrams are all as large as a datagram may be (padded), so the transport can
// segment them in the kernel; the live stream's are never padded.
TEST(ReplicationSim, BulkDatagramsAreFullSizeAndLiveOnesAreNotPadded) {
  EngineConfig config;
  config.node_id = 1;
  TimePoint now{};
  SyncEngine active(config, nullptr, now);
  std::mt19937_64 rng(22);
  for (std::uint32_t i = 1; i <= 3000; ++i) active.local_upsert(test::random_flow(rng, i));
  active.set_role(Role::active, now);
  active.announce_table();
  std::vector<std::string> out;
  active.poll(now, out);
  ASSERT_GT(out.size(), 10u);
  std::size_t full = 0;
  for (const auto& d : out) full += d.size() == config.max_packet_bytes ? 1 : 0;
  EXPECT_GE(full, out.size() - 2) << "all but the control datagram and the bulk's last";
  while (active.sender().bulk_in_progress()) {  // the rest of the bulk, acked by nobody
    out.clear();
    active.poll(now, out);
    if (out.empty()) break;
  }
  for (std::uint32_t i = 5000; i <= 5100; ++i) active.local_upsert(test::random_flow(rng, i));
  now += seconds(1);
  out.clear();
  active.poll(now, out);
  ASSERT_FALSE(out.empty());
  for (const auto& d : out) EXPECT_LT(d.size(), config.max_packet_bytes - 8) << "live: no padding";
}

// The bulk walks the table in place. A removal moves the table's last entry, which the walk
// has not reached yet, into the removed one's place, which it has passed: that entry must
// still reach the copy. Driven by hand, one poll at a time, to remove in the middle of a bulk.
TEST(ReplicationSim, BulkStillSendsEntriesThatRemovalsMoveBehindItsWalk) {
  EngineConfig config;
  config.digest_interval = seconds(3600);  // only the bulk may fill the copy
  TimePoint now{};
  config.node_id = 1;
  SyncEngine active(config, nullptr, now);
  config.node_id = 2;
  SyncEngine backup(config, nullptr, now);
  std::mt19937_64 rng(21);
  for (std::uint32_t i = 1; i <= 20000; ++i) active.local_upsert(test::random_flow(rng, i));
  active.set_role(Role::active, now);
  backup.request_resync(now);  // as a node starting up
  std::vector<std::string> out;
  auto pump = [&](SyncEngine& from, SyncEngine& to) {
    out.clear();
    from.poll(now, out);
    for (const auto& d : out) to.receive(d, now);
  };
  auto copy = [&]() -> const PeerTable& { return backup.peers().at(1)->table(); };
  for (int i = 0; i < 2000 && (backup.peers().empty() || copy().empty()); ++i) {
    pump(active, backup);
    pump(backup, active);
    now += milliseconds(1);
  }
  ASSERT_FALSE(copy().empty()) << "the bulk never started";
  ASSERT_LT(copy().size(), active.local().size() / 2) << "the bulk ended too soon to test";
  std::vector<FlowKey> passed;
  for (std::size_t i = 0; i < 100; ++i) passed.push_back(active.local().entries()[i].flow.key);
  for (const auto& k : passed) active.local_erase(k);
  for (int i = 0; i < 5000 && !backup.peers().at(1)->complete(); ++i) {
    pump(active, backup);
    pump(backup, active);
    now += milliseconds(1);
  }
  for (int i = 0; i < 50; ++i) {  // the deletes, after the bulk
    pump(active, backup);
    pump(backup, active);
    now += milliseconds(1);
  }
  EXPECT_TRUE(backup.peers().at(1)->complete());
  EXPECT_EQ(compare(active.local(), copy()), "");
  // The bulk left the copy's digest to be rebuilt when asked for: it must match.
  EXPECT_EQ(backup.peers().at(1)->digest(), active.local_digest());
}

}  // namespace
}  // namespace ctsync

// Google Benchmark: how many flows per second go through the sender (encode + seal) and the
// receiver (open + decode + apply to the external cache), and how many bytes one flow update
// costs on the wire, IPv4 and IPv6; and the longest a single insert stalls the event loop
// while the local table grows.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "bench_flows.hpp"
#include "core/flow_codec.hpp"
#include "core/flow_wire.hpp"
#include "core/flow_wire_view.hpp"
#include "core/sync_engine.hpp"
#include "net/datagram_sealer.hpp"

namespace {

using namespace ctsync;

KeyRing keys() {
  KeyRing r;
  SecretKey k;
  k.fill(0x42);
  r.add(1, k);
  (void)r.set_send_id(1);
  return r;
}

EngineConfig config(std::uint32_t id) {
  EngineConfig c;
  c.node_id = id;
  c.boot_id = 1;
  c.max_packet_bytes = 1500 - 28 - DatagramSealer::overhead;
  return c;
}

// The sealed datagrams of one bulk of `flows` as the active node sends them (padded to full
// size), or of the same flows as live changes (`live`: how the steady stream goes).
std::vector<std::string> bulk_datagrams(const std::vector<Flow>& flows,
                                        const DatagramSealer& sealer, std::size_t* bytes,
                                        bool live = false) {
  TimePoint now{};
  SyncEngine a(config(1), nullptr, now);
  if (live) a.set_role(Role::active, now);
  for (const auto& f : flows) a.local_upsert(f);
  if (!live) {
    a.set_role(Role::active, now);
    a.announce_table();
  }
  std::vector<std::string> out, sealed;
  for (int i = 0; i < 100000; ++i) {
    out.clear();
    a.poll(now, out);
    if (out.empty() && !a.sender().has_pending()) break;  // a short last packet waits 2 ms
    for (auto& d : out) {
      std::string s;
      sealer.seal(d, s);
      sealed.push_back(std::move(s));
    }
    now += std::chrono::milliseconds(1);
  }
  *bytes = 0;
  for (const auto& s : sealed) *bytes += s.size() + 28;  // plus IPv4 and UDP headers
  return sealed;
}

void BM_EncodeAndSeal(benchmark::State& state) {
  const auto flows = bench::flows(static_cast<std::size_t>(state.range(0)), 1);
  DatagramSealer sealer(keys(), 1500);
  std::size_t bytes = 0;
  for (auto _ : state) benchmark::DoNotOptimize(bulk_datagrams(flows, sealer, &bytes));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_flow"] = static_cast<double>(bytes) / static_cast<double>(flows.size());
}
BENCHMARK(BM_EncodeAndSeal)->Arg(200000)->Unit(benchmark::kMillisecond);

void BM_OpenDecodeApply(benchmark::State& state) {
  const auto flows = bench::flows(static_cast<std::size_t>(state.range(0)), 1);
  DatagramSealer sealer(keys(), 1500);
  std::size_t bytes = 0;
  const auto datagrams = bulk_datagrams(flows, sealer, &bytes);
  std::string plain;
  for (auto _ : state) {
    SyncEngine b(config(2), nullptr, TimePoint{});
    for (const auto& d : datagrams) {
      sealer.open(d, plain);
      b.receive(plain, TimePoint{});
    }
    benchmark::DoNotOptimize(b.external_size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OpenDecodeApply)->Arg(200000)->Unit(benchmark::kMillisecond);

// Wire cost of one changed flow among many (full packets of live changes), by family.
void BM_BytesPerTcpUpdate(benchmark::State& state) {
  auto flows = bench::flows(20000, 2);
  std::vector<Flow> chosen;
  for (auto& f : flows) {
    if (f.protocol() == proto::tcp && (f.family() == Family::ipv6) == (state.range(0) == 6) &&
        f.reply == invert(f.key.original)) {
      chosen.push_back(f);
    }
  }
  DatagramSealer sealer(keys(), 1500);
  std::size_t bytes = 0;
  for (auto _ : state) benchmark::DoNotOptimize(bulk_datagrams(chosen, sealer, &bytes, true));
  state.counters["bytes_per_flow"] =
      static_cast<double>(bytes) / static_cast<double>(chosen.size());
}
BENCHMARK(BM_BytesPerTcpUpdate)->Arg(4)->Arg(6)->Unit(benchmark::kMillisecond);

// The local table filling from empty, as under a storm: the longest single insert is how long
// the event loop stops reading kernel events (a table that moved its flows to grow stalled
// for tens of milliseconds at a million).
void BM_LongestInsertWhileGrowing(benchmark::State& state) {
  const auto flows = bench::flows(static_cast<std::size_t>(state.range(0)), 3);
  double longest = 0;
  for (auto _ : state) {
    TimePoint now{};
    SyncEngine a(config(1), nullptr, now);
    for (const auto& f : flows) {
      const auto t0 = std::chrono::steady_clock::now();
      a.local_upsert(f);
      longest = std::max(
          longest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    benchmark::DoNotOptimize(a.local().size());
  }
  state.counters["longest_insert_ms"] = longest * 1e3;
}
BENCHMARK(BM_LongestInsertWhileGrowing)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(3);

// One flow message, written and read three ways: the hand-written codec the daemon uses
// (0), and protobuf's generated code, whose serializer and parser are WireFormatLite over
// coded streams (1). The hand-written codec stays only while it is more than 3 % faster.
void BM_FlowMessageEncode(benchmark::State& state) {
  const auto flows = bench::flows(10000, 4);
  std::string out;
  v1::FlowState m;
  for (auto _ : state) {
    for (const Flow& f : flows) {
      out.clear();
      if (state.range(0) == 0) {
        wire::put_flow(out, v1::Packet::kUpsertsFieldNumber, f);
      } else {
        m.Clear();
        encode_flow(f, &m);
        m.SerializeToString(&out);
      }
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(flows.size()));
  state.SetLabel(state.range(0) == 0 ? "hand-written" : "generated (WireFormatLite)");
}
BENCHMARK(BM_FlowMessageEncode)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_FlowMessageDecode(benchmark::State& state) {
  const auto flows = bench::flows(10000, 4);
  std::vector<std::string> encoded;
  for (const Flow& f : flows) {
    v1::FlowState m;
    encode_flow(f, &m);
    encoded.push_back(m.SerializeAsString());
  }
  v1::FlowState m;
  for (auto _ : state) {
    for (const auto& bytes : encoded) {
      if (state.range(0) == 0) {
        wire::FlowStateView v;
        benchmark::DoNotOptimize(wire::parse(bytes, v));
      } else {
        benchmark::DoNotOptimize(m.ParseFromString(bytes));
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(flows.size()));
  state.SetLabel(state.range(0) == 0 ? "hand-written view" : "generated (coded stream)");
}
BENCHMARK(BM_FlowMessageDecode)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

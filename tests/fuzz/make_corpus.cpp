// Writes seed inputs for the protocol fuzzers: real packets from a sender engine (bulk
// markers, upserts of every flow shape, deletes, heartbeats, digests, acks and nacks).
#include <filesystem>
#include <fstream>
#include <random>

#include "core/sync_engine.hpp"
#include "flow_factory.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  ctsync::EngineConfig c;
  c.node_id = 1;
  c.boot_id = 1;
  c.max_packet_bytes = 600;
  c.digest_interval = std::chrono::milliseconds(5);
  ctsync::TimePoint now{};
  ctsync::SyncEngine a(c, nullptr, now);
  c.node_id = 2;
  ctsync::SyncEngine b(c, nullptr, now);
  a.set_role(ctsync::Role::active, now);
  a.announce_table();
  std::mt19937_64 rng(1);
  int n = 0;
  auto write = [&](const std::string& bytes) {
    std::ofstream(dir / ("seed-" + std::to_string(n++)), std::ios::binary) << bytes;
  };
  for (int round = 0; round < 6; ++round) {
    for (std::uint32_t i = 0; i < 8; ++i)
      a.local_upsert(ctsync::test::random_flow(rng, round * 8 + i + 1));
    if (round == 3) a.local_erase(a.local().key_at(0));
    now += std::chrono::milliseconds(10);
    std::vector<std::string> out;
    a.poll(now, out);
    for (auto& d : out) {
      write(d);
      b.receive(d, now);
    }
    out.clear();
    b.poll(now, out);
    for (auto& d : out) write(d);
  }
  return 0;
}

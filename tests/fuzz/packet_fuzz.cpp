// Plaintext Packet bytes straight into a receiver's state machine: the decoder, stream
// reassembly, bulk handling and the external cache, with no authentication in the way.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/sync_engine.hpp"

namespace {
std::unique_ptr<ctsync::SyncEngine> engine;
ctsync::TimePoint now{};
int inputs = 0;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A long-lived receiver reaches deeper states (gaps, bulks in progress); renew it now and
  // then so state from one input cannot mask bugs for ever.
  if (!engine || ++inputs % 5000 == 0) {
    ctsync::EngineConfig c;
    c.node_id = 2;
    c.boot_id = 1;
    c.receiver.reorder_limit = 64;
    engine = std::make_unique<ctsync::SyncEngine>(c, nullptr, now);
  }
  now += std::chrono::milliseconds(3);
  engine->receive(std::string_view(reinterpret_cast<const char*>(data), size), now);
  std::vector<std::string> out;
  engine->poll(now, out);
  (void)engine->ready(now);
  return 0;
}

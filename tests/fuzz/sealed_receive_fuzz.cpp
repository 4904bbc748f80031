// The whole receive path behind authentication: the fuzz input is sealed with the test key
// (so it gets past the AEAD check, as a peer holding the key could send it) and then opened
// and handed to the engine. Inputs starting with 0xff are fed unsealed, to fuzz the header
// and authentication checks themselves.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/sync_engine.hpp"
#include "net/datagram_sealer.hpp"

namespace {

ctsync::KeyRing keys() {
  ctsync::KeyRing r;
  ctsync::SecretKey k;
  k.fill(0x42);
  r.add(1, k);
  (void)r.set_send_id(1);
  return r;
}

std::unique_ptr<ctsync::DatagramSealer> sealer;
std::unique_ptr<ctsync::SyncEngine> engine;
ctsync::TimePoint now{};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!sealer) sealer = std::make_unique<ctsync::DatagramSealer>(keys(), 1500);
  if (!engine) {
    ctsync::EngineConfig c;
    c.node_id = 2;
    c.boot_id = 1;
    engine = std::make_unique<ctsync::SyncEngine>(c, nullptr, now);
  }
  now += std::chrono::milliseconds(1);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string datagram;
  if (size > 0 && data[0] == 0xff) {
    datagram.assign(input.substr(1));
  } else {
    sealer->seal(input, datagram);
  }
  std::string plain;
  const auto opened = sealer->open(datagram, plain);
  if (opened.dropped) {
    engine->counters().drop(*opened.dropped);
  } else {
    engine->receive(plain, now);
  }
  std::vector<std::string> out;
  engine->poll(now, out);
  return 0;
}

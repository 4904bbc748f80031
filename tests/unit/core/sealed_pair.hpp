#pragma once
// Two engines joined by sealed datagrams that a test carries by hand, every datagram the
// sender sealed kept: what an attacker on the sync link records and replays.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/sync_engine.hpp"
#include "flow_factory.hpp"
#include "net/datagram_sealer.hpp"

namespace ctsync::test {

inline KeyRing ring(std::uint8_t id, std::uint8_t fill) {
  KeyRing r;
  SecretKey k;
  k.fill(fill);
  r.add(id, k);
  EXPECT_TRUE(r.set_send_id(id).ok());
  return r;
}

struct SealedPair {
  TimePoint now{};
  EngineConfig ca, cb;
  std::unique_ptr<SyncEngine> a, b;
  DatagramSealer sealer{ring(1, 0x11), 1500};
  std::vector<std::string> captured;  // every sealed datagram a sent
  bool hold = false;                  // a's datagrams do not reach b (lost, or b not running)
  std::vector<std::string> held;      // what a sent while `hold`
  // a's datagrams for which this says true are lost on the way (read from their control
  // fields: a test can lose the stream and let heartbeats through).
  std::function<bool(const v1::Packet&)> lose = [](const v1::Packet&) { return false; };

  // `a_features`: what a's Packet.features says it does; FEATURE_NONE stands for a release
  // before 0.2.0 (no bulk names its requester).
  explicit SealedPair(std::uint32_t a_features = EngineConfig{}.features) {
    ca.node_id = 1;
    ca.boot_id = 100;
    ca.receiver.replay_window = 64;
    cb = ca;
    cb.node_id = 2;
    ca.features = a_features;
    a = std::make_unique<SyncEngine>(ca, nullptr, now);
    b = std::make_unique<SyncEngine>(cb, nullptr, now);
    a->set_role(Role::active, now);
    a->announce_table();
    exchange(milliseconds(300));
  }

  void deliver_to_b(const std::string& sealed) {
    std::string plain;
    if (auto o = sealer.open(sealed, plain); o.dropped) {
      b->counters().drop(*o.dropped);
      return;
    }
    b->receive(plain, now);
  }

  void exchange(Duration d) {
    const TimePoint end = now + d;
    while (now < end) {
      std::vector<std::string> out;
      a->poll(now, out);
      for (auto& p : out) {
        std::string sealed;
        sealer.seal(p, sealed);
        captured.push_back(sealed);
        v1::Packet control;
        if (control.ParseFromString(p) && lose(control)) continue;
        if (hold) {
          held.push_back(sealed);
        } else {
          deliver_to_b(sealed);
        }
      }
      out.clear();
      b->poll(now, out);
      for (auto& p : out) {
        std::string plain;
        std::string sealed;
        sealer.seal(p, sealed);
        ASSERT_FALSE(sealer.open(sealed, plain).dropped);
        a->receive(plain, now);
      }
      now += milliseconds(1);
    }
  }

  const PeerTable& copy() { return b->peers().at(1)->table(); }
  Role role_seen_by_b() { return b->peers().at(1)->role(); }
  // b restarts: a new receiver that never saw anything a sent before, with a new boot id as
  // a restarted daemon's (the sender would take the old one's datagrams as replays).
  void restart_b() {
    cb.boot_id += 1;
    b = std::make_unique<SyncEngine>(cb, nullptr, now);
  }
  // b restarts with what it remembers in its state directory: the newest datagram it accepted
  // from each peer (the daemon writes it every second and when it stops).
  void restart_b_remembering() {
    cb.remembered_peers = b->peer_marks();
    restart_b();
  }
  std::uint64_t drops(DropReason r) { return b->counters().dropped_for(r); }
};

inline Flow sample_flow(std::uint32_t serial) {
  std::mt19937_64 rng(serial);
  return test::random_flow(rng, serial);
}

}  // namespace ctsync::test

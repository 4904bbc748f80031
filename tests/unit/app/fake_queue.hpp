#pragma once
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "fake_kernel.hpp"
#include "ports/packet_queue_port.hpp"

namespace ctsync::test {

// The start of an IPv4 or IPv6 packet carrying `t` (TCP/UDP ports or an ICMP echo).
inline std::vector<std::uint8_t> packet_bytes(const Tuple& t) {
  std::vector<std::uint8_t> p;
  if (t.family == Family::ipv4) {
    p.assign(20, 0);
    p[0] = 0x45;
    p[9] = t.protocol;
    std::memcpy(&p[12], t.src.bytes.data(), 4);
    std::memcpy(&p[16], t.dst.bytes.data(), 4);
  } else {
    p.assign(40, 0);
    p[0] = 0x60;
    p[6] = t.protocol;
    std::memcpy(&p[8], t.src.bytes.data(), 16);
    std::memcpy(&p[24], t.dst.bytes.data(), 16);
  }
  std::uint8_t l4[8] = {};
  if (protocol_is_icmp(t.protocol)) {
    l4[0] = t.icmp_type;
    l4[1] = t.icmp_code;
    l4[4] = static_cast<std::uint8_t>(t.icmp_id >> 8);
    l4[5] = static_cast<std::uint8_t>(t.icmp_id);
  } else {
    l4[0] = static_cast<std::uint8_t>(t.src_port >> 8);
    l4[1] = static_cast<std::uint8_t>(t.src_port);
    l4[2] = static_cast<std::uint8_t>(t.dst_port >> 8);
    l4[3] = static_cast<std::uint8_t>(t.dst_port);
  }
  p.insert(p.end(), l4, l4 + 8);
  return p;
}

// The packet queue as the kernel runs it, in memory: a packet stays queued until its
// verdict is flushed, and the test learns whether the kernel's table held the packet's flow
// (by original or reply tuple) when it went on: what conntrack would then have found.
class FakeQueue final : public ports::PacketQueuePort {
 public:
  explicit FakeQueue(FakeKernel& kernel) : kernel_(kernel) {}

  // ---- the test's side ----
  // A packet arrives; the daemon reads it (and whatever else arrives in the same read).
  std::uint32_t arrives(const Tuple& t, bool end_of_read = true) {
    const std::uint32_t id = next_id_++;
    tuples_[id] = t;
    if (sink_ == nullptr) {
      // Nobody listens: the kernel lets it through (fail-open).
      went_on_[id] = found(t);
      return id;
    }
    queued_.insert(id);
    const auto bytes = packet_bytes(t);
    sink_->on_packet(id, bytes);
    if (end_of_read) sink_->on_packets_read();
    return id;
  }
  void end_of_read() {
    if (sink_) sink_->on_packets_read();
  }
  bool queued(std::uint32_t id) const { return queued_.count(id) != 0; }
  // Whether the packet went on and found its flow in the kernel's table then; nullopt while
  // it is still queued.
  std::optional<bool> found_flow(std::uint32_t id) const {
    auto it = went_on_.find(id);
    return it == went_on_.end() ? std::nullopt : std::optional<bool>(it->second);
  }
  std::size_t flushes = 0;
  std::size_t listens = 0;

  // ---- the port ----
  Result<void> listen(ports::PacketSink& sink) override {
    sink_ = &sink;
    ++listens;
    return {};
  }
  void stop() override {
    for (const std::uint32_t id : std::set<std::uint32_t>(queued_)) accept(id);
    (void)flush();
    sink_ = nullptr;
  }
  bool listening() const override { return sink_ != nullptr; }
  void accept(std::uint32_t id) override {
    if (queued_.erase(id) != 0) accepted_.push_back(id);
  }
  Result<void> flush() override {
    ++flushes;
    for (const std::uint32_t id : accepted_) went_on_[id] = found(tuples_[id]);
    accepted_.clear();
    return {};
  }
  std::string describe() const override { return "fake queue"; }

 private:
  bool found(const Tuple& t) const {
    if (kernel_.table().find_flow(FlowKey{0, t})) return true;
    for (const auto& e : kernel_.table())
      if (e.flow.reply == t) return true;
    return false;
  }

  FakeKernel& kernel_;
  ports::PacketSink* sink_ = nullptr;
  std::uint32_t next_id_ = 1;
  std::map<std::uint32_t, Tuple> tuples_;
  std::set<std::uint32_t> queued_;
  std::vector<std::uint32_t> accepted_;
  std::map<std::uint32_t, bool> went_on_;
};

}  // namespace ctsync::test

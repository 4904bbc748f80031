#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "ctsync/result.hpp"

namespace ctsync::ports {

// Receives the packets a queue rule of the ruleset hands to user space.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // The start of an IP packet (its headers at least), and the id its verdict names.
  virtual void on_packet(std::uint32_t id, std::span<const std::uint8_t> packet) = 0;
  // The end of one read: decide, write, then let verdicts go out together.
  virtual void on_packets_read() = 0;
  // Packets were lost to us (the socket overran): the kernel let them through unseen.
  virtual void on_overrun() = 0;
};

// A packet queue the daemon listens on while a backup and during a takeover. The queue is
// fail-open: while nobody listens, or when it is full, the kernel lets packets through.
class PacketQueuePort {
 public:
  virtual ~PacketQueuePort() = default;
  virtual Result<void> listen(PacketSink& sink) = 0;
  // Lets every packet still held go on, then stops listening (a queue torn down with
  // packets in it would drop them).
  virtual void stop() = 0;
  virtual bool listening() const = 0;
  // Lets the packet go on to conntrack and the rest of the ruleset; sent with the next flush.
  virtual void accept(std::uint32_t id) = 0;
  virtual Result<void> flush() = 0;
  virtual std::string describe() const = 0;  // "queue 7", for status and logs
};

}  // namespace ctsync::ports

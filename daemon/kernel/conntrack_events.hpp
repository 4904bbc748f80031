#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"
#include "kernel/netlink_socket.hpp"

namespace ctsync {

enum class ConntrackEventType : std::uint8_t { created, updated, destroyed };

struct EventsConfig {
  int receive_buffer = 8 << 20;
  int receive_buffer_max = 64 << 20;  // an overrun doubles the buffer up to this
  std::uint32_t ignore_port_id = 0;   // events caused by this port (our writer) never arrive
};

// The kernel's NEW/UPDATE/DESTROY events. Reads many per system call (recvmmsg); an overrun
// (ENOBUFS: events were lost) is reported as such, never swallowed: the caller resyncs.
class ConntrackEvents {
 public:
  static Result<ConntrackEvents> open(const EventsConfig& config);

  int fd() const { return socket_.fd(); }

  struct ReadResult {
    std::size_t events = 0;
    std::size_t undecodable = 0;
    bool overrun = false;
    bool drained = false;  // nothing more queued right now
  };
  // The flow and which field:: parts the event carried (UPDATE events are partial; the
  // kernel puts counters in DESTROY events only).
  using Handler = std::function<void(ConntrackEventType, const Flow&, std::uint16_t present,
                                     const FlowCounters&)>;
  // Reads what is queued, at most `max_batches` system calls' worth.
  ReadResult read(const Handler& on_event, std::size_t max_batches = 16);

  // Throws away everything queued: after an overrun those events are older than the dump
  // that follows, and applying them after it would roll flows back.
  std::size_t discard_queued();

  // Leaves the NEW group, so the kernel does not build creation events no one else listens
  // to (a commit writes near the kernel's ceiling then), and joins it again. Creations in
  // between must be read back from a dump; changes and ends still arrive.
  Result<void> pause();
  Result<void> resume();

  // Doubles the receive buffer, up to the configured maximum; returns the new size.
  int grow_buffer();
  int buffer_size() const { return buffer_size_; }

 private:
  ConntrackEvents(NetlinkSocket s, EventsConfig c) : socket_(std::move(s)), config_(c) {}

  NetlinkSocket socket_;
  EventsConfig config_;
  int buffer_size_ = 0;
  std::vector<char> storage_;
};

}  // namespace ctsync

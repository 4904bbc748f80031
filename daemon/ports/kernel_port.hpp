#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/write_report.hpp"
#include "ctsync/expectation.hpp"
#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"

// Ports: what the daemon's upper half asks of the outside world, as small interfaces. The
// adapters (daemon/kernel, daemon/net, the event loop) implement them; unit tests inject
// fakes and run whole failovers on simulated time.
namespace ctsync::ports {

enum class EventType : std::uint8_t { created, updated, destroyed };

// Receives the kernel's conntrack events.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The flow and which field:: parts the event carried (UPDATE events are partial; the
  // kernel puts counters in DESTROY events only).
  virtual void on_event(EventType type, const Flow& flow, std::uint16_t present,
                        const FlowCounters& counters) = 0;
  // Events were lost; what was still queued has been thrown away (older than the dump that
  // repairs the loss, it would roll flows back).
  virtual void on_overrun() = 0;
  // The end of one read: a good moment to let the sync link send.
  virtual void on_events_read() = 0;
};

// Receives one pass over the kernel's whole table.
class DumpSink {
 public:
  virtual ~DumpSink() = default;
  virtual void on_flow(const Flow& flow, const FlowCounters& counters) = 0;
  // The end of one chunk: writes decided by the chunk go out now, and the loop turns.
  virtual void on_chunk_end() = 0;
  virtual void on_dump_end(Result<void> outcome) = 0;
};

class ExpectationSink {
 public:
  virtual ~ExpectationSink() = default;
  virtual void on_expectation(bool created, const Expectation& e) = 0;
  virtual void on_expectation_overrun() = 0;
};

struct TableSize {
  long entries = -1;  // -1: unknown
  long max = -1;
};

// The kernel's conntrack and expectation tables.
class KernelPort {
 public:
  virtual ~KernelPort() = default;

  // Starts delivering events to `sink` (and expectation events to `expectations`, if the
  // port synchronises them) until close().
  virtual void subscribe(EventSink& sink, ExpectationSink* expectations) = 0;
  // Out of the creation events while a commit writes many flows (nobody builds events no
  // one reads), and back. Creations in between are read back by a dump.
  virtual Result<void> pause_creation_events() = 0;
  virtual Result<void> resume_creation_events() = 0;

  // One pass over the whole table, in chunks, delivered to `sink` on the event loop. One at a
  // time: the caller starts the next after on_dump_end.
  virtual void dump(DumpSink& sink) = 0;

  // Batched writes with a result per flow. upsert: create, or update when the NAT binding is
  // the same, or replace (delete, create) when it is not.
  virtual Result<void> upsert(std::span<const Flow> flows, std::vector<WriteResult>& results) = 0;
  // Changes existing entries only; errors[i] is 0 or the kernel's errno.
  virtual Result<void> update(std::span<const Flow> flows, std::vector<int>& errors) = 0;
  // A missing entry is not an error.
  virtual Result<void> remove(std::span<const FlowKey> keys, std::vector<int>& errors) = 0;
  virtual Result<std::optional<Flow>> get(const FlowKey& key) = 0;

  // Expectations, when synchronised (otherwise dump gives none and create fails).
  virtual bool synchronises_expectations() const = 0;
  virtual Result<std::vector<Expectation>> dump_expectations() = 0;
  virtual Result<void> create_expectation(const Expectation& e) = 0;

  virtual TableSize table_size() const = 0;
  // Whether the kernel counts packets and bytes (nf_conntrack_acct).
  virtual bool counts_traffic() const = 0;
  virtual int event_buffer_bytes() const = 0;

  // Stops every delivery; no sink is called after it.
  virtual void close() = 0;
};

}  // namespace ctsync::ports

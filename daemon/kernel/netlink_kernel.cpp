#include "kernel/netlink_kernel.hpp"

#include <boost/asio/post.hpp>
#include <fstream>

namespace ctsync {

namespace asio = boost::asio;

namespace {

// A busy table's events gather for this long rather than wake the loop for every few of
// them (the wake-ups cost more than the events). The socket buffer holds tens of
// milliseconds of a storm, so a millisecond risks no overrun; a quiet table, whose wake-ups
// are further apart, sees no delay.
constexpr Duration events_coalesce = std::chrono::milliseconds(1);
// Bounded per turn so timers and the network get their share during an event storm.
constexpr std::size_t event_batches_per_turn = 32;
constexpr std::size_t dump_reads_per_chunk = 8;

long read_proc_number(const char* path) {
  long v = -1;
  std::ifstream(path) >> v;
  return v;
}

ports::EventType event_type(ConntrackEventType t) {
  switch (t) {
    case ConntrackEventType::created:
      return ports::EventType::created;
    case ConntrackEventType::updated:
      return ports::EventType::updated;
    case ConntrackEventType::destroyed:
      break;
  }
  return ports::EventType::destroyed;
}

}  // namespace

NetlinkKernel::NetlinkKernel(asio::io_context& io) : io_(io), coalesce_timer_(io) {}

NetlinkKernel::~NetlinkKernel() {
  if (dump_requester_.joinable()) dump_requester_.join();
  // The sockets close themselves; the descriptors must not close them again.
  for (auto* fd : {events_fd_.get(), dump_fd_.get(), expectation_fd_.get()})
    if (fd) fd->release();
}

Result<std::unique_ptr<NetlinkKernel>> NetlinkKernel::open(asio::io_context& io,
                                                           const NetlinkKernelConfig& config) {
  std::unique_ptr<NetlinkKernel> k(new NetlinkKernel(io));
  auto writer = ConntrackWriter::open(config.writer);
  if (!writer) return writer.error();
  k->writer_ = std::make_unique<ConntrackWriter>(std::move(*writer));
  EventsConfig ec = config.events;
  ec.ignore_port_id = k->writer_->port_id();
  auto events = ConntrackEvents::open(ec);
  if (!events) return events.error();
  k->events_ = std::make_unique<ConntrackEvents>(std::move(*events));
  k->events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io, k->events_->fd());
  auto dump = ConntrackDump::open();
  if (!dump) return dump.error();
  k->dump_ = std::make_unique<ConntrackDump>(std::move(*dump));
  k->dump_fd_ = std::make_unique<asio::posix::stream_descriptor>(io, k->dump_->fd());
  auto reader = ConntrackReader::open();
  if (!reader) return reader.error();
  k->reader_ = std::make_unique<ConntrackReader>(std::move(*reader));
  if (config.expectations) {
    auto ke = KernelExpectations::open();
    if (!ke) return ke.error();
    k->expectations_ = std::make_unique<KernelExpectations>(std::move(*ke));
    auto ee = ExpectationEvents::open(k->expectations_->port_id());
    if (!ee) return ee.error();
    k->expectation_events_ = std::make_unique<ExpectationEvents>(std::move(*ee));
    k->expectation_fd_ =
        std::make_unique<asio::posix::stream_descriptor>(io, k->expectation_events_->fd());
  }
  return k;
}

void NetlinkKernel::subscribe(ports::EventSink& sink, ports::ExpectationSink* expectations) {
  sink_ = &sink;
  wait_events();
  if (expectation_events_ && expectations != nullptr) {
    expectation_sink_ = expectations;
    wait_expectation_events();
  }
}

void NetlinkKernel::wait_events() {
  if (!events_fd_->is_open()) events_fd_->assign(events_->fd());
  events_fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (ec || closed_) return;
                           const TimePoint now = Clock::now();
                           const bool burst = read_events();
                           const bool frequent = now - last_wake_ < events_coalesce;
                           last_wake_ = now;
                           if (!burst && !frequent) {
                             wait_events();
                             return;
                           }
                           // Out of the reactor while we wait: it registers a descriptor
                           // edge-triggered for good, so every event the kernel queues
                           // meanwhile would wake the loop for nothing (one wake-up per few
                           // events in a storm, the daemon's largest cost).
                           events_fd_->release();
                           coalesce_timer_.expires_after(events_coalesce);
                           coalesce_timer_.async_wait([this](const boost::system::error_code& e) {
                             if (!e && !closed_) wait_events();
                           });
                         });
}

// Returns true when the events came in a burst worth coalescing.
bool NetlinkKernel::read_events() {
  const auto r = events_->read(
      [this](ConntrackEventType t, const Flow& f, std::uint16_t present, const FlowCounters& c) {
        sink_->on_event(event_type(t), f, present, c);
      },
      event_batches_per_turn);
  if (r.overrun) {
    // What is still queued is older than the events we lost; applied after the dump that
    // repairs the loss, it would roll flows back.
    events_->discard_queued();
    events_->grow_buffer();
    sink_->on_overrun();
  }
  sink_->on_events_read();
  return r.drained && !r.overrun && r.events >= event_batches_per_turn;
}

void NetlinkKernel::wait_expectation_events() {
  expectation_fd_->async_wait(
      asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || closed_) return;
        const auto r = expectation_events_->read([this](bool created, const Expectation& e) {
          expectation_sink_->on_expectation(created, e);
        });
        if (r.overrun) expectation_sink_->on_expectation_overrun();
        wait_expectation_events();
      });
}

void NetlinkKernel::dump(ports::DumpSink& sink) {
  dump_sink_ = &sink;
  // The request alone makes the kernel walk its whole hash table, every namespace's entries
  // included, until it has a first chunk of ours: tens of milliseconds with a few hundred
  // thousand entries, most of them not ours (a backup starting beside a busy table). It runs
  // beside the loop, which meanwhile goes on receiving peers' bulks and kernel events.
  if (dump_requester_.joinable()) dump_requester_.join();
  dump_requester_ = std::thread([this] {
    auto r = dump_->start(DumpFilter{});
    asio::post(io_, [this, r = std::move(r)] {
      if (closed_) return;
      if (!r) {
        dump_sink_->on_dump_end(r.error());
        return;
      }
      continue_dump();
    });
  });
}

void NetlinkKernel::continue_dump() {
  dump_fd_->async_wait(
      asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || closed_) return;
        auto done = dump_->read_some(
            [this](const Flow& f, const FlowCounters& c) { dump_sink_->on_flow(f, c); },
            dump_reads_per_chunk);
        dump_sink_->on_chunk_end();
        if (done && !*done) {
          continue_dump();
          return;
        }
        if (!done) {
          dump_sink_->on_dump_end(done.error());
          return;
        }
        dump_sink_->on_dump_end({});
      });
}

Result<void> NetlinkKernel::update(std::span<const Flow> flows, std::vector<int>& errors) {
  std::vector<ConntrackWriter::Op> ops;
  ops.reserve(flows.size());
  for (const Flow& f : flows) ops.push_back({WriteKind::update, &f});
  return writer_->apply(ops, errors);
}

Result<std::optional<Flow>> NetlinkKernel::get(const FlowKey& key) {
  return reader_->get(key);
}

Result<std::vector<Expectation>> NetlinkKernel::dump_expectations() {
  if (!expectations_) return std::vector<Expectation>{};
  return expectations_->dump();
}

Result<void> NetlinkKernel::create_expectation(const Expectation& e) {
  if (!expectations_) return Error{"expectations are not synchronised", 0};
  return expectations_->create(e);
}

ports::TableSize NetlinkKernel::table_size() const {
  return {read_proc_number("/proc/sys/net/netfilter/nf_conntrack_count"),
          read_proc_number("/proc/sys/net/netfilter/nf_conntrack_max")};
}

bool NetlinkKernel::counts_traffic() const {
  return read_proc_number("/proc/sys/net/netfilter/nf_conntrack_acct") > 0;
}

void NetlinkKernel::close() {
  closed_ = true;
  coalesce_timer_.cancel();
  boost::system::error_code ec;
  events_fd_->cancel(ec);
  dump_fd_->cancel(ec);
  if (expectation_fd_) expectation_fd_->cancel(ec);
}

}  // namespace ctsync

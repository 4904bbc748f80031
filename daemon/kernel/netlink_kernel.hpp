#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <thread>

#include "kernel/conntrack_dump.hpp"
#include "kernel/conntrack_events.hpp"
#include "kernel/conntrack_reader.hpp"
#include "kernel/conntrack_writer.hpp"
#include "kernel/expectation_events.hpp"
#include "kernel/kernel_expectations.hpp"
#include "ports/kernel_port.hpp"

namespace ctsync {

struct NetlinkKernelConfig {
  WriterConfig writer;
  EventsConfig events;
  bool expectations = true;
};

// The kernel port over ctnetlink: one socket each for writes, events, dumps, single reads and
// expectations, their readiness waited on by the event loop.
class NetlinkKernel final : public ports::KernelPort {
 public:
  static Result<std::unique_ptr<NetlinkKernel>> open(boost::asio::io_context& io,
                                                     const NetlinkKernelConfig& config);
  ~NetlinkKernel() override;

  void subscribe(ports::EventSink& sink, ports::ExpectationSink* expectations) override;
  Result<void> pause_creation_events() override { return events_->pause(); }
  Result<void> resume_creation_events() override { return events_->resume(); }
  void dump(ports::DumpSink& sink) override;
  Result<void> upsert(std::span<const Flow> flows, std::vector<WriteResult>& results) override {
    return writer_->upsert(flows, results);
  }
  Result<void> update(std::span<const Flow> flows, std::vector<int>& errors) override;
  Result<void> remove(std::span<const FlowKey> keys, std::vector<int>& errors) override {
    return writer_->remove(keys, errors);
  }
  Result<std::optional<Flow>> get(const FlowKey& key) override;
  bool synchronises_expectations() const override { return expectations_ != nullptr; }
  Result<std::vector<Expectation>> dump_expectations() override;
  Result<void> create_expectation(const Expectation& e) override;
  ports::TableSize table_size() const override;
  bool counts_traffic() const override;
  int event_buffer_bytes() const override { return events_->buffer_size(); }
  void close() override;

 private:
  explicit NetlinkKernel(boost::asio::io_context& io);
  void wait_events();
  bool read_events();
  void wait_expectation_events();
  void continue_dump();

  boost::asio::io_context& io_;
  std::unique_ptr<ConntrackWriter> writer_;
  std::unique_ptr<ConntrackEvents> events_;
  std::unique_ptr<ConntrackDump> dump_;
  std::unique_ptr<ConntrackReader> reader_;
  std::unique_ptr<KernelExpectations> expectations_;
  std::unique_ptr<ExpectationEvents> expectation_events_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_fd_, dump_fd_, expectation_fd_;
  boost::asio::steady_timer coalesce_timer_;
  TimePoint last_wake_{};
  ports::EventSink* sink_ = nullptr;
  ports::ExpectationSink* expectation_sink_ = nullptr;
  ports::DumpSink* dump_sink_ = nullptr;
  // Sends a dump's request beside the loop (see dump()); the dump socket is its alone until
  // it posts back.
  std::thread dump_requester_;
  bool closed_ = false;
};

}  // namespace ctsync

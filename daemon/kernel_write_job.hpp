#pragma once
#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ctsync/clock.hpp"
#include "kernel/conntrack_writer.hpp"

namespace ctsync {

struct WriteReport {
  std::size_t total = 0;
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t replaced = 0;
  std::size_t failed = 0;
  std::map<int, std::size_t> failures;  // errno -> count
  Duration duration{};
  std::string summary() const;
};

// Writes many flows to the kernel in batches, one batch per turn of the event loop, so that
// heartbeats, acks and kernel events keep flowing during a commit of a million entries.
class KernelWriteJob : public std::enable_shared_from_this<KernelWriteJob> {
 public:
  enum class Mode { upsert, update };
  using Source = std::function<bool(Flow&)>;  // the next flow, or false when done
  using Done = std::function<void(const WriteReport&)>;

  KernelWriteJob(boost::asio::io_context& io, ConntrackWriter& writer, Mode mode, std::size_t batch,
                 Source source, Done done);
  void start();
  void cancel() { cancelled_ = true; }
  const WriteReport& progress() const { return report_; }

 private:
  void step();

  boost::asio::io_context& io_;
  ConntrackWriter& writer_;
  Mode mode_;
  std::size_t batch_;
  Source source_;
  Done done_;
  WriteReport report_;
  TimePoint started_{};
  bool cancelled_ = false;
  std::vector<Flow> chunk_;
  std::vector<WriteResult> results_;
};

}  // namespace ctsync

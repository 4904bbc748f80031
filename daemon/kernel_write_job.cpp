#include "kernel_write_job.hpp"

#include <boost/asio/post.hpp>
#include <cstring>

namespace ctsync {

std::string WriteReport::summary() const {
  std::string s = std::to_string(total) + " flows in " +
                  std::to_string(std::chrono::duration_cast<milliseconds>(duration).count()) +
                  " ms: " + std::to_string(created) + " created, " + std::to_string(updated) +
                  " updated, " + std::to_string(replaced) + " replaced, " + std::to_string(failed) +
                  " failed";
  for (const auto& [err, n] : failures) s += "; " + std::to_string(n) + " " + std::strerror(err);
  return s;
}

KernelWriteJob::KernelWriteJob(boost::asio::io_context& io, ConntrackWriter& writer, Mode mode,
                               std::size_t batch, Source source, Done done)
    : io_(io),
      writer_(writer),
      mode_(mode),
      batch_(batch),
      source_(std::move(source)),
      done_(std::move(done)) {}

void KernelWriteJob::start() {
  started_ = Clock::now();
  boost::asio::post(io_, [self = shared_from_this()] { self->step(); });
}

void KernelWriteJob::step() {
  chunk_.clear();
  Flow f;
  while (!cancelled_ && chunk_.size() < batch_ && source_(f)) chunk_.push_back(f);
  if (!chunk_.empty()) {
    Result<void> r;
    if (mode_ == Mode::upsert) {
      r = writer_.upsert(chunk_, results_);
    } else {
      std::vector<ConntrackWriter::Op> ops;
      for (const Flow& g : chunk_) ops.push_back({WriteKind::update, &g});
      std::vector<int> errors;
      r = writer_.apply(ops, errors);
      results_.clear();
      for (int e : errors)
        results_.push_back(e == 0 ? WriteResult{WriteOutcome::updated, 0}
                                  : WriteResult{WriteOutcome::failed, e});
    }
    if (!r) {
      results_.assign(chunk_.size(),
                      WriteResult{WriteOutcome::failed, r.error().code ? r.error().code : EIO});
    }
    for (const auto& res : results_) {
      ++report_.total;
      switch (res.outcome) {
        case WriteOutcome::created:
          ++report_.created;
          break;
        case WriteOutcome::updated:
          ++report_.updated;
          break;
        case WriteOutcome::replaced:
          ++report_.replaced;
          break;
        case WriteOutcome::failed:
          ++report_.failed;
          ++report_.failures[res.error];
          break;
      }
    }
  }
  if (chunk_.size() == batch_ && !cancelled_) {
    boost::asio::post(io_, [self = shared_from_this()] { self->step(); });
    return;
  }
  report_.duration = Clock::now() - started_;
  if (done_) done_(report_);
}

}  // namespace ctsync

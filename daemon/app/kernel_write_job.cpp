#include "app/kernel_write_job.hpp"

#include <cerrno>

namespace ctsync::app {

void write_batch(ports::KernelPort& kernel, KernelWriteJob::Mode mode, std::span<const Flow> flows,
                 std::vector<WriteResult>& results, std::vector<int>& errors) {
  Result<void> r;
  if (mode == KernelWriteJob::Mode::upsert) {
    r = kernel.upsert(flows, results);
  } else {
    r = kernel.update(flows, errors);
    results.clear();
    for (int e : errors)
      results.push_back(e == 0 ? WriteResult{WriteOutcome::updated, 0}
                               : WriteResult{WriteOutcome::failed, e});
  }
  if (!r || results.size() != flows.size()) {
    const int code = r ? EIO : (r.error().code ? r.error().code : EIO);
    results.assign(flows.size(), WriteResult{WriteOutcome::failed, code});
  }
}

KernelWriteJob::KernelWriteJob(ports::Scheduler& loop, ports::KernelPort& kernel, Mode mode,
                               std::size_t batch, Source source, Done done)
    : loop_(loop),
      kernel_(kernel),
      mode_(mode),
      batch_(batch),
      source_(std::move(source)),
      done_(std::move(done)) {}

void KernelWriteJob::start() {
  started_ = loop_.now();
  loop_.post([self = shared_from_this()] { self->step(); });
}

void KernelWriteJob::step() {
  chunk_.clear();
  Flow f;
  while (!cancelled_ && chunk_.size() < batch_ && source_(f)) chunk_.push_back(f);
  if (!chunk_.empty()) {
    write_batch(kernel_, mode_, chunk_, results_, errors_);
    for (const auto& res : results_) report_.add(res);
  }
  if (chunk_.size() == batch_ && !cancelled_) {
    loop_.post([self = shared_from_this()] { self->step(); });
    return;
  }
  report_.duration = loop_.now() - started_;
  if (done_) done_(report_);
}

}  // namespace ctsync::app

#include "core/latency_histogram.hpp"

#include <algorithm>
#include <chrono>

namespace ctsync {

void LatencyHistogram::observe(Duration d, std::uint64_t times) {
  const double s = std::chrono::duration<double>(d).count();
  const auto at = std::lower_bound(bounds.begin(), bounds.end(), s);
  counts_[static_cast<std::size_t>(at - bounds.begin())] += times;
  count_ += times;
  sum_ += s * static_cast<double>(times);
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const double rank = q * static_cast<double>(count_);
  double below = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    const auto c = static_cast<double>(counts_[i]);
    if (below + c >= rank && c > 0) {
      if (i == bounds.size()) return bounds.back();
      const double lower = i == 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * (rank - below) / c;
    }
    below += c;
  }
  return bounds.back();
}

}  // namespace ctsync

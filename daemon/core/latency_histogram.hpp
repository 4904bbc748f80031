#pragma once
#include <array>
#include <cstdint>

#include "ctsync/clock.hpp"

namespace ctsync {

// Counts of durations in fixed buckets, as a Prometheus histogram has them (upper bounds in
// seconds, from 100 µs to 10 s, and one beyond), plus their sum. Pure: the metrics adapter
// publishes the counts, status reads quantiles from them.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 16> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1,      2.5,     5,      10};
  static constexpr std::size_t buckets = bounds.size() + 1;  // the last: beyond 10 s

  void observe(Duration d, std::uint64_t times = 1);
  // Counts per bucket (not cumulative), the last one above the highest bound.
  const std::array<std::uint64_t, buckets>& counts() const { return counts_; }
  std::uint64_t count() const { return count_; }
  double sum_seconds() const { return sum_; }
  // The q-quantile (0 < q < 1) by linear interpolation within its bucket, as PromQL's
  // histogram_quantile does; the highest bound when it falls beyond it; 0 when empty.
  double quantile(double q) const;

 private:
  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace ctsync

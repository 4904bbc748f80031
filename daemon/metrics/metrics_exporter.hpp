#pragma once
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>

#include "ctsync/result.hpp"
#include "metrics/metrics_snapshot.hpp"

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace ctsync {

// The Prometheus endpoint (prometheus-cpp). Scrapes are served by the library's own thread
// from values this class sets on the event-loop thread once a second, so serving metrics
// never waits on, or blocks, the sync path. Every fixed label set exists from the start with
// value 0; peer series appear when a peer is first heard.
class MetricsExporter {
 public:
  static Result<std::unique_ptr<MetricsExporter>> open(const std::string& listen,
                                                       const std::string& version);
  ~MetricsExporter();

  void publish(const MetricsSnapshot& s);

 private:
  MetricsExporter() = default;
  void build(const std::string& version);
  void set(prometheus::Counter& c, std::uint64_t total);
  prometheus::Counter& counter(const std::string& name, const std::string& help,
                               const std::map<std::string, std::string>& labels = {});
  prometheus::Gauge& gauge(const std::string& name, const std::string& help,
                           const std::map<std::string, std::string>& labels = {});
  // Adds what `total` counted since it was last published to `h`.
  void set(prometheus::Histogram& h, const LatencyHistogram& total);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counter_families_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauge_families_;
  std::unordered_map<prometheus::Counter*, std::uint64_t> published_;
  prometheus::Histogram* commit_duration_ = nullptr;
  prometheus::Histogram* latency_all_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_per_peer_ = nullptr;
  std::unordered_map<prometheus::Histogram*, LatencyHistogram> published_latency_;
  std::map<std::tuple<std::string, std::string, std::string>, prometheus::Gauge*> flows_by_state_;
};

}  // namespace ctsync

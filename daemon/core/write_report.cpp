#include "core/write_report.hpp"

#include <cstring>

namespace ctsync {

std::string_view write_outcome_name(WriteOutcome o) {
  switch (o) {
    case WriteOutcome::created:
      return "created";
    case WriteOutcome::updated:
      return "updated";
    case WriteOutcome::replaced:
      return "replaced";
    case WriteOutcome::failed:
      break;
  }
  return "failed";
}

void WriteReport::add(const WriteResult& r) {
  ++total;
  switch (r.outcome) {
    case WriteOutcome::created:
      ++created;
      break;
    case WriteOutcome::updated:
      ++updated;
      break;
    case WriteOutcome::replaced:
      ++replaced;
      break;
    case WriteOutcome::failed:
      ++failed;
      ++failures[r.error];
      break;
  }
}

void WriteReport::add(const WriteReport& o) {
  total += o.total;
  created += o.created;
  updated += o.updated;
  replaced += o.replaced;
  failed += o.failed;
  for (const auto& [e, n] : o.failures) failures[e] += n;
}

std::string WriteReport::summary() const {
  std::string s = std::to_string(total) + " flows in " +
                  std::to_string(std::chrono::duration_cast<milliseconds>(duration).count()) +
                  " ms: " + std::to_string(created) + " created, " + std::to_string(updated) +
                  " updated, " + std::to_string(replaced) + " replaced, " + std::to_string(failed) +
                  " failed";
  for (const auto& [err, n] : failures) s += "; " + std::to_string(n) + " " + std::strerror(err);
  return s;
}

}  // namespace ctsync

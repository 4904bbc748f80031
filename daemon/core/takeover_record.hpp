#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace ctsync {

// What one takeover cost, for `ctsyncctl status`, the metrics and the post-mortem: when the
// first packet of a peer's flow arrived (the addresses had moved), when the promotion came,
// when the commit started and ended, and what was written. Times are seconds after the
// promotion (negative: before it), so they read without comparing clocks.
struct TakeoverRecord {
  std::int64_t promoted_at_ms = 0;  // wall clock, ms since the epoch
  std::optional<double> first_held_s;
  double commit_start_s = 0;
  std::optional<double> commit_end_s;  // none: still running, or cut short
  std::uint64_t flows_on_demand = 0;   // written as their packets arrived
  std::uint64_t flows_committed = 0;   // by the commit (on-demand flows excluded)
  std::uint64_t failed = 0;
  std::map<int, std::uint64_t> failures;  // errno -> flows
  std::uint64_t packets_held = 0;
  std::uint64_t packets_released_late = 0;  // let go at the hold's bound, unwritten
  std::uint64_t packets_overflow = 0;

  std::string summary() const;  // one line
  friend bool operator==(const TakeoverRecord&, const TakeoverRecord&) = default;
};

// The last few takeovers, newest last, as the state directory keeps them: one line each of
// key=value pairs. Lines that do not parse are skipped (a file from a newer version, a torn
// write): the history is a report, never a reason not to start.
class TakeoverHistory {
 public:
  static constexpr std::size_t kept = 8;
  void add(TakeoverRecord r);
  TakeoverRecord* latest() { return records_.empty() ? nullptr : &records_.back(); }
  const std::deque<TakeoverRecord>& records() const { return records_; }

  std::string encode() const;
  static TakeoverHistory decode(const std::string& text);

 private:
  std::deque<TakeoverRecord> records_;
};

}  // namespace ctsync

#include "core/takeover_record.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace ctsync {

namespace {

std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s);
  return b;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string TakeoverRecord::summary() const {
  std::string s = "promoted";
  if (first_held_s) s += ", first held packet at " + seconds_text(*first_held_s) + " s";
  s += ", commit " + seconds_text(commit_start_s) + " s";
  s += commit_end_s ? " to " + seconds_text(*commit_end_s) + " s" : std::string(" (not done)");
  s += ", " + std::to_string(flows_on_demand) + " flows on demand, " +
       std::to_string(flows_committed) + " committed, " + std::to_string(failed) + " failed";
  for (const auto& [err, n] : failures) {
    s += " (errno " + std::to_string(err) + ": " + std::to_string(n) + ")";
  }
  s += "; packets held " + std::to_string(packets_held) + ", released unwritten " +
       std::to_string(packets_released_late) + ", passed on overflow " +
       std::to_string(packets_overflow);
  return s;
}

void TakeoverHistory::add(TakeoverRecord r) {
  records_.push_back(std::move(r));
  while (records_.size() > kept) records_.pop_front();
}

std::string TakeoverHistory::encode() const {
  std::ostringstream out;
  for (const TakeoverRecord& r : records_) {
    out << "at=" << r.promoted_at_ms;
    if (r.first_held_s) out << " first_held=" << seconds_text(*r.first_held_s);
    out << " commit_start=" << seconds_text(r.commit_start_s);
    if (r.commit_end_s) out << " commit_end=" << seconds_text(*r.commit_end_s);
    out << " on_demand=" << r.flows_on_demand << " committed=" << r.flows_committed
        << " failed=" << r.failed << " held=" << r.packets_held
        << " released_late=" << r.packets_released_late << " overflow=" << r.packets_overflow;
    for (const auto& [err, n] : r.failures) out << " errno" << err << "=" << n;
    out << "\n";
  }
  return out.str();
}

TakeoverHistory TakeoverHistory::decode(const std::string& text) {
  TakeoverHistory h;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    TakeoverRecord r;
    bool ok = true, seen_at = false;
    std::istringstream words(line);
    std::string word;
    while (ok && words >> word) {
      const auto eq = word.find('=');
      if (eq == std::string::npos) {
        ok = false;
        break;
      }
      const std::string key = word.substr(0, eq);
      const std::string_view value = std::string_view(word).substr(eq + 1);
      double d = 0;
      if (key == "at") {
        ok = parse_number(value, r.promoted_at_ms);
        seen_at = true;
      } else if (key == "first_held") {
        ok = parse_number(value, d), r.first_held_s = d;
      } else if (key == "commit_start") {
        ok = parse_number(value, r.commit_start_s);
      } else if (key == "commit_end") {
        ok = parse_number(value, d), r.commit_end_s = d;
      } else if (key == "on_demand") {
        ok = parse_number(value, r.flows_on_demand);
      } else if (key == "committed") {
        ok = parse_number(value, r.flows_committed);
      } else if (key == "failed") {
        ok = parse_number(value, r.failed);
      } else if (key == "held") {
        ok = parse_number(value, r.packets_held);
      } else if (key == "released_late") {
        ok = parse_number(value, r.packets_released_late);
      } else if (key == "overflow") {
        ok = parse_number(value, r.packets_overflow);
      } else if (key.rfind("errno", 0) == 0) {
        int err = 0;
        std::uint64_t n = 0;
        ok = parse_number(std::string_view(key).substr(5), err) && parse_number(value, n);
        r.failures[err] = n;
      }  // an unknown key: a newer version's; skipped
    }
    if (ok && seen_at) h.add(std::move(r));
  }
  return h;
}

}  // namespace ctsync

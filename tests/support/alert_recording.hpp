#pragma once
// Alert rules checked on series recorded from live daemons: the recording, as promtool's
// input_series, and the promql_expr_test cases that say whether an alert fires.
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ctsync::test {

// A promql_expr_test case: whether `alert` fires at `at_s` (ALERTS, as Prometheus writes it;
// the annotations are the rule file's business, not this test's).
inline std::string firing(const std::string& alert, std::size_t at_s, bool fires) {
  std::string out = "      - expr: count by (alertname) (ALERTS{alertname=\"" + alert +
                    "\",alertstate=\"firing\"})\n        eval_time: " + std::to_string(at_s) +
                    "s\n        exp_samples:";
  if (!fires) return out + " []\n";
  return out + "\n          - labels: '{alertname=\"" + alert + "\"}'\n            value: 1\n";
}

// Samples of a node's series, one scrape a second: the input of `promtool test rules`.
struct Recording {
  std::map<std::string, std::vector<double>> series;  // "name{labels}" -> values
  std::size_t samples = 0;
  std::string instance = "fw1";  // the label the rules see
  // Samples repeated in the input: a state seen for seconds stands for the minutes an alert's
  // `for` asks (sample index -> extra copies).
  std::map<std::size_t, std::size_t> stretched;
  void stretch_last(std::size_t extra) { stretched[samples - 1] = extra; }

  void take(const std::string& scrape, const std::vector<std::string>& prefixes) {
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      const std::string name = line.substr(0, space);
      bool wanted = false;
      for (const auto& p : prefixes) wanted = wanted || name.rfind(p, 0) == 0;
      if (!wanted) continue;
      auto& v = series[name];
      v.resize(samples, 0);
      v.push_back(std::stod(line.substr(space + 1)));
    }
    ++samples;
  }
  // As promtool's input_series, `instance` and `job` added, held flat for `hold` more samples.
  std::string input_series(std::size_t hold) const {
    std::string out;
    for (const auto& [name, values] : series) {
      std::string labelled = name.find('{') == std::string::npos ? name + "{}" : name;
      labelled.insert(labelled.size() - 1,
                      std::string(labelled[labelled.size() - 2] == '{' ? "" : ",") + "instance=\"" +
                          instance + "\",job=\"ctsyncd\"");
      std::ostringstream v;
      for (std::size_t i = 0; i < values.size(); ++i) {
        v << values[i];
        if (auto it = stretched.find(i); it != stretched.end()) v << "+0x" << it->second;
        v << ' ';
      }
      v << values.back() << "+0x" << hold;
      out += "      - series: '" + labelled + "'\n        values: '" + v.str() + "'\n";
    }
    return out;
  }
};

}  // namespace ctsync::test

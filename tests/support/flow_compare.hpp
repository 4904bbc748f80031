#pragma once
// Comparing a node's copy of flows with the kernel table it copies, field by field, through
// the JSON ctsyncctl prints (every replicated field).
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/flow_json.hpp"
#include "kernel/conntrack_dump.hpp"
#include "netns.hpp"

namespace ctsync::test {

// The flows the tests create (kernel_valid_flows: to 198.51.100.0/24 or 2001:db8::/32), not
// the firewall's own traffic (sync datagrams, IGMP), which ctsyncd rightly ignores.
inline std::vector<Flow> kernel_flows(const Namespace& ns) {
  EnterNamespace in(ns);
  auto d = ConntrackDump::open();
  std::vector<Flow> out;
  const auto v4 = *parse_cidr("198.51.100.0/24");
  const auto v6 = *parse_cidr("2001:db8::/32");
  auto keep = [&](const Flow& f, const FlowCounters&) {
    const Tuple& o = f.original();
    if (v4.contains(o.family, o.dst) || v6.contains(o.family, o.dst)) out.push_back(f);
  };
  if (!d || !d->run({}, keep)) throw std::runtime_error("dump");
  return out;
}

// Flows keyed by "original tuple, zone", as JSON without what legitimately differs between
// a copy and its source: the timeout (it counts down) and the line that prints it.
inline std::map<std::string, nlohmann::json> keyed(const nlohmann::json& arr) {
  std::map<std::string, nlohmann::json> out;
  for (auto j : arr) {
    const std::string key =
        j["original"].get<std::string>() + " zone " + std::to_string(j["zone"].get<int>());
    j.erase("line");
    j.erase("peer");
    out[key] = j;
  }
  return out;
}

inline nlohmann::json as_json(const std::vector<Flow>& flows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : flows) arr.push_back(flow_to_json(f));
  return arr;
}

// "" when equal: same keys, every field equal, timeouts within `slack` seconds.
inline std::string compare(const nlohmann::json& source, const nlohmann::json& copy, int slack) {
  auto a = keyed(source), b = keyed(copy);
  if (a.size() != b.size()) {
    std::string msg =
        "source has " + std::to_string(a.size()) + " flows, copy " + std::to_string(b.size());
    int shown = 0;
    for (const auto& [k, v] : b) {
      if (!a.count(k) && shown++ < 3) msg += "\n  only in copy: " + v.dump();
    }
    for (const auto& [k, v] : a) {
      if (!b.count(k) && shown++ < 6) msg += "\n  only in source: " + v.dump();
    }
    return msg;
  }
  for (auto& [k, x] : a) {
    auto it = b.find(k);
    if (it == b.end()) return "missing: " + k;
    auto y = it->second;
    const long dt = std::labs(x["timeout"].get<long>() - y["timeout"].get<long>());
    if (dt > slack) return "timeout differs by " + std::to_string(dt) + " s: " + k;
    x.erase("timeout");
    y.erase("timeout");
    if (x != y) return "differs: " + k + "\n  source " + x.dump() + "\n  copy   " + y.dump();
  }
  return {};
}

}  // namespace ctsync::test

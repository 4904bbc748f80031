#pragma once
// Reads `conntrack -L -o extended` lines (and ctsyncd's own conntrack-style lines) into
// comparable records, so tests can hold the adapter against the reference tool.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ctsync::test {

struct CtEntry {
  std::string family, protocol, state;
  long timeout = -1;
  std::map<std::string, std::string> original, reply, other;
  std::set<std::string> flags;  // ASSURED, UNREPLIED, OFFLOAD

  // Identity: what conntrack itself keys on.
  std::string key() const {
    std::string k = family + " " + protocol;
    for (const char* f : {"src", "dst", "sport", "dport", "type", "code", "id"}) {
      auto it = original.find(f);
      if (it != original.end()) k += " " + std::string(f) + "=" + it->second;
    }
    auto z = other.find("zone");
    k += " zone=" + (z == other.end() ? std::string("0") : z->second);
    return k;
  }
};

inline CtEntry parse_ct_line(const std::string& line) {
  CtEntry e;
  std::istringstream in(line);
  std::string tok, num;
  in >> e.family >> num >> e.protocol >> num >> e.timeout;
  bool in_reply = false;
  std::set<std::string> seen;
  while (in >> tok) {
    if (tok.front() == '[') {
      e.flags.insert(tok.substr(1, tok.size() - 2));
      continue;
    }
    const auto eq = tok.find('=');
    if (eq == std::string::npos) {
      e.state = tok;
      continue;
    }
    const std::string k = tok.substr(0, eq), v = tok.substr(eq + 1);
    const bool tuple_field = k == "src" || k == "dst" || k == "sport" || k == "dport" ||
                             k == "type" || k == "code" || k == "id" || k == "packets" ||
                             k == "bytes" || k == "srckey" || k == "dstkey";
    if (tuple_field) {
      if (k == "src" && seen.count("src")) in_reply = true;
      seen.insert(k);
      (in_reply ? e.reply : e.original)[k] = v;
    } else {
      e.other[k] = v;
    }
  }
  return e;
}

inline std::map<std::string, CtEntry> parse_ct_listing(const std::string& text) {
  std::map<std::string, CtEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ipv4", 0) != 0 && line.rfind("ipv6", 0) != 0) continue;
    CtEntry e = parse_ct_line(line);
    out[e.key()] = e;
  }
  return out;
}

// Field-by-field comparison of what both tools print; "" when equal. Counters are compared
// only when asked (they keep moving on a live entry).
inline std::string compare_entries(const CtEntry& a, const CtEntry& b, long timeout_slack,
                                   bool counters) {
  auto tuple = [counters](std::map<std::string, std::string> t) {
    if (!counters) {
      t.erase("packets");
      t.erase("bytes");
    }
    return t;
  };
  if (tuple(a.original) != tuple(b.original)) return "original tuple differs";
  if (tuple(a.reply) != tuple(b.reply)) return "reply tuple (NAT) differs";
  if (a.state != b.state) return "state " + a.state + " vs " + b.state;
  auto significant = [](std::set<std::string> f) {
    f.erase("OFFLOAD");
    return f;
  };
  if (significant(a.flags) != significant(b.flags)) return "status flags differ";
  for (const char* k : {"mark", "zone", "helper"}) {
    auto x = a.other.find(k), y = b.other.find(k);
    const std::string vx = x == a.other.end() ? "" : x->second;
    const std::string vy = y == b.other.end() ? "" : y->second;
    if (vx != vy) return std::string(k) + " " + vx + " vs " + vy;
  }
  if (std::labs(a.timeout - b.timeout) > timeout_slack) {
    return "timeout " + std::to_string(a.timeout) + " vs " + std::to_string(b.timeout);
  }
  return {};
}

}  // namespace ctsync::test

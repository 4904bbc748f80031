#include "config/conntrackd_import.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "config/conntrackd_conf.hpp"
#include "ctsync/ip_address.hpp"

namespace ctsync {

namespace {

using conntrackd::Node;

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string quoted(std::string_view s) {
  std::string r = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) r += c;
  }
  return r + "\"";
}

std::string toml_list(const std::vector<std::string>& items) {
  std::string r = "[";
  for (std::size_t i = 0; i < items.size(); ++i) r += (i ? ", " : "") + quoted(items[i]);
  return r + "]";
}

// One `key = value` line of the output, with where it came from.
struct Line {
  std::string key, value, note;
};

class Translation {
 public:
  explicit Translation(const std::string& path) : path_(path) {}

  Result<std::string> run(const std::vector<Node>& top) {
    const Node* sync = nullptr;
    for (const Node& n : top) {
      const std::string& k = n.words.front();
      if (k == "Sync" && n.block) {
        if (sync == nullptr) sync = &n;
      } else if (k == "General" && n.block) {
        general_ = &n;
      } else if (k == "Stats" && n.block) {
        skip(n,
             "conntrackd's statistics mode (flow logging) has no counterpart; ctsyncd's traffic "
             "counters are the Prometheus series ctsync_traffic_*");
      } else if (k == "Helper" && n.block) {
        skip(n, "user-space helpers are not part of synchronisation; ctsyncd provides none");
      } else {
        return error(n, "unknown section '" + k +
                            "' (conntrackd knows Sync, General, Stats and "
                            "Helper" +
                            case_hint(k, {"Sync", "General", "Stats", "Helper"}) + ")");
      }
    }
    if (sync == nullptr) {
      return make_error(path_ +
                        ": no Sync section: this file configures conntrackd without "
                        "state synchronisation (statistics only), which ctsyncd does not "
                        "do; there is nothing to translate");
    }
    if (auto r = read_sync(*sync); !r) return r.error();
    if (general_ != nullptr) {
      if (auto r = read_general(*general_); !r) return r.error();
    }
    return render();
  }

 private:
  Error error(const Node& n, const std::string& what) const {
    return make_error(path_ + ":" + std::to_string(n.line) + ": " + what);
  }
  std::string from(const Node& n) const { return "conntrackd.conf:" + std::to_string(n.line); }
  static std::string case_hint(const std::string& word, std::initializer_list<const char*> known) {
    for (const char* k : known) {
      if (lower(word) == lower(k))
        return "; conntrackd reads keywords in this case: " + std::string(k);
    }
    return {};
  }
  static std::string text_of(const Node& n) {
    std::string t;
    for (const auto& w : n.words) t += (t.empty() ? "" : " ") + w;
    return t + (n.block ? " { ... }" : "");
  }
  void skip(const Node& n, const std::string& why) {
    untranslated_.push_back("line " + std::to_string(n.line) + ": " + text_of(n) + ": " + why);
  }
  void set(const std::string& section, const std::string& key, const std::string& value,
           const std::string& note) {
    auto& lines = sections_[section];
    for (auto& l : lines) {
      if (l.key == key) {
        l = Line{key, value, note};
        return;
      }
    }
    lines.push_back(Line{key, value, note});
  }

  Result<std::string> value(const Node& n, std::size_t at = 1) const {
    if (n.words.size() <= at || n.block) return error(n, "'" + n.words.front() + "' needs a value");
    return n.words[at];
  }
  Result<long long> number(const Node& n, long long lo, long long hi) const {
    auto v = value(n);
    if (!v) return v.error();
    long long x = 0;
    for (const char c : *v) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || x > hi) {
        return error(n, "'" + n.words.front() + "' takes a number from " + std::to_string(lo) +
                            " to " + std::to_string(hi) + ", not '" + *v + "'");
      }
      x = x * 10 + (c - '0');
    }
    if (v->empty() || x < lo || x > hi) {
      return error(n, "'" + n.words.front() + "' takes a number from " + std::to_string(lo) +
                          " to " + std::to_string(hi) + ", not '" + *v + "'");
    }
    return x;
  }
  Result<bool> on_off(const Node& n) const {
    auto v = value(n);
    if (!v) return v.error();
    const std::string l = lower(*v);
    if (l == "on" || l == "yes") return true;
    if (l == "off" || l == "no") return false;
    return error(n, "'" + n.words.front() + "' takes On or Off, not '" + *v + "'");
  }

  Result<void> read_sync(const Node& sync) {
    bool have_transport = false;
    for (const Node& n : sync.children) {
      const std::string& k = n.words.front();
      if (k == "Mode" && n.block) {
        if (auto r = read_mode(n); !r) return r;
      } else if ((k == "Multicast" || k == "UDP" || k == "TCP") && n.block) {
        if (have_transport) {
          skip(n, "ctsyncd uses one sync link (the first transport block is translated)");
          continue;
        }
        have_transport = true;
        if (auto r = read_transport(n); !r) return r;
      } else if (k == "Options" && n.block) {
        if (auto r = read_options(n); !r) return r;
      } else {
        skip(n, "not a Sync setting this translator knows" +
                    case_hint(k, {"Mode", "Multicast", "UDP", "TCP", "Options"}));
      }
    }
    if (!have_transport) return error(sync, "Sync has no Multicast or UDP block");
    return {};
  }

  Result<void> read_mode(const Node& mode) {
    const std::string kind = mode.words.size() > 1 ? lower(mode.words[1]) : "";
    if (kind == "notrack" || kind == "alarm") {
      skip(mode,
           "ctsyncd has one protocol, reliable like FTFW: acks, resends from a window, "
           "bulks and digests replace " +
               mode.words[1] + "'s best effort or periodic resend");
    } else if (kind != "ftfw") {
      return error(mode, "Mode must be FTFW, NOTRACK or ALARM");
    }
    for (const Node& n : mode.children) {
      const std::string& k = n.words.front();
      if (k == "DisableExternalCache") {
        auto v = on_off(n);
        if (!v) return v.error();
        set("cache", "mode", *v ? "\"direct\"" : "\"external\"", from(n) + " " + text_of(n));
      } else if (k == "PurgeTimeout") {
        auto v = number(n, 0, 86400);
        if (!v) return v.error();
        set("cache", "purge_after_s", std::to_string(*v),
            from(n) +
                ": after stepping down, entries of our time as active get "
                "cache.purge_timeout_s this long after (conntrackd flushed them)");
      } else if (k == "ResendQueueSize") {
        skip(n,
             "counted in objects; ctsyncd's sync.window_packets counts datagrams of many "
             "flows and coalesces instead of dropping when full (default kept)");
      } else if (k == "ACKWindowSize") {
        skip(n, "ctsyncd acks every 32 packets or 2 ms, and in every heartbeat");
      } else if (k == "CommitTimeout") {
        skip(n,
             "a commit writes each flow with the timeout the active node's kernel last "
             "reported");
      } else if (k == "DisableInternalCache") {
        skip(n, "ctsyncd always keeps its internal cache: bulks and digests need it");
      } else if (k == "StartupResync") {
        skip(n, "always on: ctsyncd asks its peers for their tables at start-up");
      } else if (k == "RefreshTime" || k == "CacheTimeout") {
        skip(n, "ALARM's periodic resend has no counterpart (heartbeats and digests instead)");
      } else {
        skip(n, "not a Mode setting this translator knows");
      }
    }
    return {};
  }

  Result<void> read_transport(const Node& t) {
    const bool multicast = t.words.front() == "Multicast";
    if (t.words.front() == "TCP") {
      skip(t,
           "ctsyncd syncs over UDP only; the block's addresses and port are translated as "
           "unicast UDP");
    }
    for (const Node& n : t.children) {
      const std::string& k = n.words.front();
      if (k == "IPv4_address" || k == "IPv6_address") {
        auto v = value(n);
        if (!v) return v.error();
        if (!parse_any_address(*v)) return error(n, "'" + *v + "' is not an address");
        if (multicast) {
          set("sync", "multicast_group", quoted(*v), from(n) + " " + text_of(n));
        } else {
          set("sync", "bind", quoted(*v), from(n) + " " + text_of(n));
        }
      } else if (!multicast &&
                 (k == "IPv4_Destination_Address" || k == "IPv6_Destination_Address")) {
        auto v = value(n);
        if (!v) return v.error();
        if (!parse_any_address(*v)) return error(n, "'" + *v + "' is not an address");
        peers_.push_back(*v);
        set("sync", "peers", toml_list(peers_), from(n) + " " + text_of(n));
      } else if (k == "Group" || k == "Port") {
        auto v = number(n, 1, 65535);
        if (!v) return v.error();
        set("sync", "port", std::to_string(*v), from(n) + " " + text_of(n));
      } else if (k == "Interface") {
        auto v = value(n);
        if (!v) return v.error();
        set("sync", "interface", quoted(*v), from(n) + " " + text_of(n));
      } else if (k == "SndSocketBuffer" || k == "RcvSocketBuffer") {
        auto v = number(n, 0, 1 << 30);
        if (!v) return v.error();
        set("sync", k == "SndSocketBuffer" ? "send_buffer" : "receive_buffer",
            std::to_string(std::max<long long>(*v, 65536)),
            from(n) + " " + text_of(n) + " (ctsyncd takes 64 KiB at least)");
      } else if (k == "IPv4_interface" || k == "IPv6_interface") {
        skip(n, "ctsyncd picks the sync interface by name (sync.interface)");
      } else if (k == "Checksum") {
        skip(n, "every ctsyncd datagram carries an authentication tag");
      } else {
        skip(n, "not a transport setting this translator knows");
      }
    }
    return {};
  }

  Result<void> read_options(const Node& options) {
    for (const Node& n : options.children) {
      const std::string& k = n.words.front();
      if (k == "TCPWindowTracking") {
        auto v = on_off(n);
        if (!v) return v.error();
        set("kernel", "tcp_window_tracking", *v ? "true" : "false", from(n) + " " + text_of(n));
      } else if (k == "ExpectationSync" && n.block) {
        set("sync", "expectations", "true", from(n) + " ExpectationSync");
        std::string helpers;
        for (const Node& h : n.children) helpers += (helpers.empty() ? "" : " ") + text_of(h);
        skip(n, "the helper list (" + helpers +
                    ") has no counterpart: ctsyncd replicates the "
                    "expectations of every helper");
      } else if (k == "ExpectationSync") {
        auto v = on_off(n);
        if (!v) return v.error();
        set("sync", "expectations", *v ? "true" : "false", from(n) + " " + text_of(n));
      } else {
        skip(n, "not an Options setting this translator knows");
      }
    }
    return {};
  }

  Result<void> read_general(const Node& general) {
    static const std::map<std::string, const char*> no_counterpart = {
        {"HashSize", "ctsyncd's tables grow as needed; the kernel's nf_conntrack_max is the limit"},
        {"HashLimit",
         "ctsyncd's tables grow as needed; the kernel's nf_conntrack_max is the limit"},
        {"LogFile", "ctsyncd logs to standard error (the journal under systemd)"},
        {"Syslog", "ctsyncd logs to standard error (the journal under systemd)"},
        {"LockFile",
         "ctsyncd has no lock file; a second daemon on the same socket refuses to start"},
        {"Nice", "deprecated in conntrackd too"},
        {"Scheduler", "ctsyncd does not change its scheduling policy"},
        {"Systemd", "ctsyncd always notifies systemd (Type=notify, watchdog)"},
        {"NetlinkOverrunResync", "ctsyncd repairs every overrun at once with a full read"},
        {"NetlinkEventsReliable", "ctsyncd detects overruns and repairs them instead"},
        {"PollSecs", "ctsyncd is event-driven"},
        {"EventIterationLimit", "events are read in bounded batches on each turn of the loop"},
        {"UNIX",
         "ctsyncctl finds the daemon at control.socket (default "
         "/run/ctsyncd/ctsyncd.sock); keepalived scripts call ctsyncctl"},
    };
    for (const Node& n : general.children) {
      const std::string& k = n.words.front();
      if (k == "NetlinkBufferSize" || k == "NetlinkBufferSizeMaxGrowth") {
        auto v = number(n, 0, 1 << 30);
        if (!v) return v.error();
        set("kernel", k == "NetlinkBufferSize" ? "netlink_buffer" : "netlink_buffer_max",
            std::to_string(std::max<long long>(*v, 65536)),
            from(n) + " " + text_of(n) + (*v < 65536 ? " (ctsyncd takes 64 KiB at least)" : ""));
      } else if (k == "Filter" && n.block) {
        if (auto r = read_filter(n); !r) return r;
      } else if (auto it = no_counterpart.find(k); it != no_counterpart.end()) {
        skip(n, it->second);
      } else {
        skip(n, "not a General setting this translator knows");
      }
    }
    return {};
  }

  Result<std::string> protocol(const Node& at, const std::string& name) const {
    static const std::map<std::string, std::string> aliases = {
        {"ipv6-icmp", "icmpv6"}, {"icmp6", "icmpv6"}, {"udp-lite", "udplite"}};
    static const char* known[] = {"tcp",  "udp", "udplite", "icmp", "icmpv6", "sctp",
                                  "dccp", "gre", "igmp",    "esp",  "ah",     "vrrp"};
    std::string l = lower(name);
    if (auto a = aliases.find(l); a != aliases.end()) l = a->second;
    if (std::find(std::begin(known), std::end(known), l) != std::end(known)) return l;
    if (!l.empty() &&
        std::all_of(l.begin(), l.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }) &&
        l.size() <= 3 && std::stoi(l) <= 255) {
      return l;
    }
    return error(at, "protocol '" + name + "' has no name in ctsyncd; write its number");
  }

  Result<void> read_filter(const Node& filter) {
    for (const Node& n : filter.children) {
      const std::string& k = n.words.front();
      const std::string how = n.words.size() > 1 ? n.words[1] : "";
      if (!n.block || (how != "Accept" && how != "Ignore")) {
        skip(n,
             "not a Filter rule this translator knows (Protocol, Address or State, with "
             "Accept or Ignore)");
        continue;
      }
      const bool accept = how == "Accept";
      if (k == "Protocol") {
        std::vector<std::string> names;
        for (const Node& item : n.children) {
          for (const auto& w : item.words) {
            auto p = protocol(item, w);
            if (!p) return p.error();
            names.push_back(*p);
          }
        }
        set("filter", accept ? "accept_protocols" : "ignore_protocols", toml_list(names),
            from(n) + " Protocol " + how + (accept ? ": only these are replicated" : ""));
      } else if (k == "Address") {
        std::vector<std::string>& list = accept ? accept_addresses_ : ignore_addresses_;
        for (const Node& item : n.children) {
          auto v = value(item);
          if (!v) return v.error();
          if (item.words.front() != "IPv4_address" && item.words.front() != "IPv6_address") {
            return error(item, "an Address list holds IPv4_address or IPv6_address lines");
          }
          if (!parse_cidr(*v)) {
            return error(item, "'" + *v +
                                   "' is not an address or prefix (host bits must be "
                                   "zero)");
          }
          list.push_back(*v);
        }
        set("filter", "address_match", "\"sources\"",
            "as conntrackd: an address list matches the original or the reply source");
        set("filter", accept ? "accept_addresses" : "ignore_addresses", toml_list(list),
            from(n) + " Address " + how);
      } else if (k == "State") {
        if (auto r = read_states(n, accept); !r) return r;
      } else {
        skip(n, "not a Filter rule this translator knows");
      }
    }
    return {};
  }

  Result<void> read_states(const Node& n, bool accept) {
    // ctsyncd's names for the kernel's TCP states; conntrackd calls CLOSE "CLOSED" and
    // SYN_SENT2 "LISTEN" (the same kernel values).
    static const char* states[] = {"NONE",     "SYN_SENT",   "SYN_RECV", "ESTABLISHED",
                                   "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
                                   "CLOSE",    "SYN_SENT2"};
    std::vector<std::string> listed;
    for (const Node& item : n.children) {
      for (std::size_t i = 0; i < item.words.size(); ++i) {
        std::string w = item.words[i];
        w.erase(std::remove(w.begin(), w.end(), ','), w.end());
        if (w.empty()) continue;
        if (w == "for") {
          if (i + 1 >= item.words.size() || lower(item.words[i + 1]) != "tcp") {
            return error(item, "conntrackd filters states for TCP only");
          }
          break;
        }
        if (w == "CLOSED") w = "CLOSE";
        if (w == "LISTEN") w = "SYN_SENT2";
        if (std::find_if(std::begin(states), std::end(states),
                         [&](const char* s) { return w == s; }) == std::end(states)) {
          return error(item, "'" + item.words[i] + "' is not a TCP state");
        }
        listed.push_back(w);
      }
    }
    std::vector<std::string> ignored;
    if (accept) {
      for (const char* s : states) {
        if (std::find(listed.begin(), listed.end(), s) == listed.end()) ignored.push_back(s);
      }
    } else {
      ignored = listed;
    }
    set("filter", "ignore_tcp_states", toml_list(ignored),
        from(n) + " State " + (accept ? "Accept: every other TCP state is ignored" : "Ignore"));
    return {};
  }

  std::string render() const {
    std::string out;
    out += "# ctsyncd.toml translated from " + path_ + " by ctsyncctl import-conntrackd.\n";
    out += "# Before use: set node.id (different on every node), create the key file\n";
    out += "# (ctsyncctl keygen FILE, then copy it to every node), and check the result with\n";
    out += "#   ctsyncd --check-config --strict -c FILE\n";
    out += "# Comments name the conntrackd.conf line each setting comes from; the settings\n";
    out += "# without a counterpart are listed at the end. Defaults are in ctsyncd.toml(5).\n\n";
    out += "[node]\nid = 1  # FILL IN: unique per node (conntrackd has no node id)\n\n";
    out += "[sync]\n";
    emit(out, "sync");
    out += "\n[[sync.keys]]\nid = 1\n";
    out +=
        "file = \"/etc/ctsyncd/sync.key\"  # FILL IN: the same key on every node (conntrackd "
        "has no authentication)\n";
    for (const char* s : {"cache", "kernel"}) {
      if (sections_.count(s) == 0) continue;
      out += std::string("\n[") + s + "]\n";
      emit(out, s);
    }
    out += "\n[filter]\n";
    emit(out, "filter");
    out +=
        "# conntrackd replicates loopback flows and flows of the node's own addresses unless\n"
        "# its Filter says otherwise; true leaves them out (ctsyncd's default).\n";
    out += "ignore_loopback = false\nignore_own_addresses = false\n";
    if (!untranslated_.empty()) {
      out += "\n# Not translated (no counterpart in ctsyncd):\n";
      for (const auto& u : untranslated_) out += "#   " + u + "\n";
    }
    return out;
  }

  void emit(std::string& out, const std::string& section) const {
    auto it = sections_.find(section);
    if (it == sections_.end()) return;
    for (const auto& l : it->second) {
      if (!l.note.empty()) out += "# " + l.note + "\n";
      out += l.key + " = " + l.value + "\n";
    }
  }

  const std::string& path_;
  const Node* general_ = nullptr;
  std::map<std::string, std::vector<Line>> sections_;
  std::vector<std::string> untranslated_;
  std::vector<std::string> peers_, accept_addresses_, ignore_addresses_;
};

}  // namespace

Result<std::string> import_conntrackd(std::string_view text, const std::string& path) {
  auto tree = conntrackd::parse(text, path);
  if (!tree) return tree.error();
  return Translation(path).run(*tree);
}

}  // namespace ctsync

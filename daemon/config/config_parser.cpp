#include "config/config_parser.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ctsync/flow.hpp"
#include "ctsync/tuple.hpp"

namespace ctsync {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t prev = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

// Reads one configuration; collects errors with their positions instead of stopping at the
// first, so an operator fixes a file in one pass.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  std::string where(const toml::source_region& src) const {
    return path_ + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
  }
  void error(const toml::node& n, const std::string& key, const std::string& msg) {
    errors_.push_back(where(n.source()) + ": " + key + ": " + msg);
  }
  void error_at(const toml::table& t, const std::string& key, const std::string& msg) {
    errors_.push_back(where(t.source()) + ": " + key + ": " + msg);
  }

  // Every key of `t` must be one of `known`.
  void only(const toml::table& t, const std::string& section,
            std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t) {
      const std::string_view key = k.str();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string hint;
      std::size_t best = 3;
      for (auto cand : known) {
        const std::size_t d = lower(cand) == lower(key) ? 0 : edit_distance(key, cand);
        if (d < best) {
          best = d;
          hint = std::string(cand);
        }
      }
      errors_.push_back(where(k.source()) + ": " + section + (section.empty() ? "" : ".") +
                        std::string(key) + ": unknown key" +
                        (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }

  const toml::table* table(const toml::table& root, std::string_view name) {
    const toml::node* n = root.get(name);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      error(*n, std::string(name), "must be a table ([" + std::string(name) + "])");
      return nullptr;
    }
    return n->as_table();
  }

  std::optional<std::int64_t> integer(const toml::table& t, std::string_view key,
                                      const std::string& section, std::int64_t min,
                                      std::int64_t max) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    const std::string name = section + "." + std::string(key);
    if (!n->is_integer()) {
      error(*n, name, "must be an integer");
      return std::nullopt;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      error(*n, name,
            "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
                std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string(const toml::table& t, std::string_view key,
                                    const std::string& section) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      error(*n, section + "." + std::string(key), "must be a string");
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  std::optional<bool> boolean(const toml::table& t, std::string_view key,
                              const std::string& section) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      error(*n, section + "." + std::string(key), "must be true or false");
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  // Each element of an array, as node; wrong type of the key itself is an error.
  std::vector<const toml::node*> array(const toml::table& t, std::string_view key,
                                       const std::string& section) {
    std::vector<const toml::node*> out;
    const toml::node* n = t.get(key);
    if (n == nullptr) return out;
    if (!n->is_array()) {
      error(*n, section + "." + std::string(key), "must be an array");
      return out;
    }
    for (const auto& e : *n->as_array()) out.push_back(&e);
    return out;
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  const std::string& path_;
  std::vector<std::string> errors_;
};

std::optional<std::uint8_t> protocol_number(std::string_view name) {
  static const std::pair<std::string_view, std::uint8_t> names[] = {{"icmp", proto::icmp},
                                                                    {"tcp", proto::tcp},
                                                                    {"udp", proto::udp},
                                                                    {"dccp", proto::dccp},
                                                                    {"gre", proto::gre},
                                                                    {"icmpv6", proto::icmpv6},
                                                                    {"sctp", proto::sctp},
                                                                    {"udplite", proto::udplite},
                                                                    {"igmp", 2},
                                                                    {"esp", 50},
                                                                    {"ah", 51},
                                                                    {"vrrp", 112}};
  for (const auto& [n, v] : names) {
    if (lower(name) == n) return v;
  }
  return std::nullopt;
}

std::optional<std::uint8_t> tcp_state_number(std::string_view name) {
  for (std::uint8_t s = 0; s <= static_cast<std::uint8_t>(TcpState::syn_sent2); ++s) {
    if (lower(tcp_state_name(static_cast<TcpState>(s))) == lower(name)) return s;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "192.0.2.1", "192.0.2.1:3780", "fd00::1", "[fd00::1]:3780"
std::optional<std::pair<FamilyAddress, std::uint16_t>> parse_host_port(std::string_view s,
                                                                       std::uint16_t dflt) {
  std::string_view host = s;
  std::optional<std::uint32_t> port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return std::nullopt;
      port = parse_u32(s.substr(close + 2));
      if (!port) return std::nullopt;
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    const auto colon = s.find(':');
    host = s.substr(0, colon);
    port = parse_u32(s.substr(colon + 1));
    if (!port) return std::nullopt;
  }
  auto a = parse_any_address(host);
  if (!a) return std::nullopt;
  const std::uint32_t p = port.value_or(dflt);
  if (p == 0 || p > 65535) return std::nullopt;
  return std::pair{*a, static_cast<std::uint16_t>(p)};
}

bool is_multicast(const FamilyAddress& a) {
  return a.family == Family::ipv4 ? (a.address.bytes[0] & 0xf0) == 0xe0
                                  : a.address.bytes[0] == 0xff;
}

void read_node(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "node");
  if (t == nullptr) {
    r.error_at(root, "node.id", "missing: every node needs a unique [node] id");
    return;
  }
  r.only(*t, "node", {"id", "state_dir", "log_level"});
  if (auto v = r.integer(*t, "id", "node", 1, 0xffffffffLL)) {
    c.node_id = static_cast<std::uint32_t>(*v);
  } else if (!t->get("id")) {
    r.error_at(*t, "node.id", "missing: every node needs a unique id");
  }
  if (auto v = r.string(*t, "state_dir", "node")) c.state_dir = *v;
  if (auto v = r.string(*t, "log_level", "node")) {
    const std::string l = lower(*v);
    if (l == "error")
      c.log_level = LogLevel::error;
    else if (l == "warning")
      c.log_level = LogLevel::warning;
    else if (l == "info")
      c.log_level = LogLevel::info;
    else if (l == "debug")
      c.log_level = LogLevel::debug;
    else
      r.error(*t->get("log_level"), "node.log_level", "must be error, warning, info or debug");
  }
}

void read_sync(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "sync");
  if (t == nullptr) {
    r.error_at(root, "sync", "missing: [sync] says how the nodes reach each other");
    return;
  }
  r.only(*t, "sync",
         {"interface", "multicast_group", "port", "peers", "bind", "keys", "send_key_id", "mtu",
          "receive_buffer", "send_buffer", "heartbeat_interval_ms", "peer_timeout_ms",
          "window_packets", "expectations", "max_peer_flows", "max_peer_expectations",
          "max_early_bytes", "legacy_sealing", "ready_max_lag_ms"});
  if (auto v = r.string(*t, "interface", "sync")) c.interface = *v;
  if (auto v = r.boolean(*t, "expectations", "sync")) c.sync_expectations = *v;
  if (auto v = r.integer(*t, "port", "sync", 1, 65535)) c.port = static_cast<std::uint16_t>(*v);
  if (auto v = r.string(*t, "multicast_group", "sync")) {
    auto a = parse_any_address(*v);
    if (!a || !is_multicast(*a)) {
      r.error(*t->get("multicast_group"), "sync.multicast_group",
              "'" + *v + "' is not an IPv4 or IPv6 multicast address");
    } else {
      c.multicast_group = *a;
    }
  }
  for (const toml::node* n : r.array(*t, "peers", "sync")) {
    const auto s = n->value<std::string>();
    auto hp = s ? parse_host_port(*s, c.port) : std::nullopt;
    if (!hp) {
      r.error(*n, "sync.peers", "'" + s.value_or("?") + "' is not an address or address:port");
    } else {
      c.peers.push_back(*hp);
    }
  }
  if (auto v = r.string(*t, "bind", "sync")) {
    auto a = parse_any_address(*v);
    if (!a)
      r.error(*t->get("bind"), "sync.bind", "'" + *v + "' is not an IP address");
    else
      c.bind = *a;
  }
  if (c.multicast_group && !c.peers.empty()) {
    r.error_at(*t, "sync", "set either multicast_group or peers, not both");
  } else if (!c.multicast_group && c.peers.empty() && r.errors().empty()) {
    r.error_at(*t, "sync", "set multicast_group (with interface) or a list of unicast peers");
  }
  if (c.multicast_group && c.interface.empty()) {
    r.error_at(*t, "sync.interface", "required with multicast_group: the dedicated sync link");
  }
  for (const auto& [a, p] : c.peers) {
    if (a.family != c.peers.front().first.family)
      r.error_at(*t, "sync.peers", "mixes IPv4 and IPv6 addresses");
  }

  const toml::node* keys = t->get("keys");
  if (keys == nullptr) {
    r.error_at(*t, "sync.keys", "missing: at least one [[sync.keys]] with id and file");
  } else if (!keys->is_array_of_tables()) {
    r.error(*keys, "sync.keys", "must be an array of tables ([[sync.keys]])");
  } else {
    for (const auto& k : *keys->as_array()) {
      const toml::table& kt = *k.as_table();
      r.only(kt, "sync.keys", {"id", "file"});
      KeyConfig kc;
      if (auto v = r.integer(kt, "id", "sync.keys", 0, 255))
        kc.id = static_cast<std::uint8_t>(*v);
      else if (!kt.get("id"))
        r.error_at(kt, "sync.keys.id", "missing");
      if (auto v = r.string(kt, "file", "sync.keys"))
        kc.file = *v;
      else if (!kt.get("file"))
        r.error_at(kt, "sync.keys.file", "missing");
      for (const auto& other : c.keys) {
        if (other.id == kc.id)
          r.error_at(kt, "sync.keys.id", "key id " + std::to_string(kc.id) + " used twice");
      }
      c.keys.push_back(kc);
    }
  }
  if (c.keys.size() > 2)
    r.error(*keys, "sync.keys", "at most two keys (the current one and the next)");
  if (!c.keys.empty()) c.send_key_id = c.keys.front().id;
  if (auto v = r.integer(*t, "send_key_id", "sync", 0, 255)) {
    c.send_key_id = static_cast<std::uint8_t>(*v);
    if (std::none_of(c.keys.begin(), c.keys.end(),
                     [&](const KeyConfig& k) { return k.id == c.send_key_id; })) {
      r.error(*t->get("send_key_id"), "sync.send_key_id",
              "no [[sync.keys]] has id " + std::to_string(*v));
    }
  }
  if (auto v = r.integer(*t, "mtu", "sync", 576, 9000)) c.mtu = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "receive_buffer", "sync", 65536, 1 << 30))
    c.socket_receive_buffer = static_cast<int>(*v);
  if (auto v = r.integer(*t, "send_buffer", "sync", 65536, 1 << 30))
    c.socket_send_buffer = static_cast<int>(*v);
  if (auto v = r.integer(*t, "heartbeat_interval_ms", "sync", 10, 10000))
    c.heartbeat_interval = milliseconds(*v);
  if (auto v = r.integer(*t, "peer_timeout_ms", "sync", 30, 60000))
    c.peer_timeout = milliseconds(*v);
  if (c.peer_timeout < 2 * c.heartbeat_interval) {
    r.error_at(*t, "sync.peer_timeout_ms", "must be at least twice heartbeat_interval_ms");
  }
  if (auto v = r.integer(*t, "window_packets", "sync", 16, 1 << 20))
    c.window_packets = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "max_peer_flows", "sync", 0, std::int64_t{1} << 32))
    c.max_peer_flows = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "max_peer_expectations", "sync", 0, std::int64_t{1} << 24))
    c.max_peer_expectations = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "max_early_bytes", "sync", 1 << 20, std::int64_t{1} << 30))
    c.max_early_bytes = static_cast<std::size_t>(*v);
  if (auto v = r.boolean(*t, "legacy_sealing", "sync")) c.legacy_sealing = *v;
  if (auto v = r.integer(*t, "ready_max_lag_ms", "sync", 50, 600000))
    c.ready_max_lag = milliseconds(*v);
}

void read_cache(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "cache");
  if (t == nullptr) return;
  r.only(*t, "cache",
         {"mode", "commit_batch", "purge_after_s", "purge_timeout_s", "direct_refresh_s",
          "commit_delay_ms"});
  if (auto v = r.string(*t, "mode", "cache")) {
    if (*v == "external")
      c.cache_mode = CacheMode::external;
    else if (*v == "direct")
      c.cache_mode = CacheMode::direct;
    else
      r.error(*t->get("mode"), "cache.mode",
              "must be \"external\" or \"direct\", not \"" + *v + "\"");
  }
  if (auto v = r.integer(*t, "commit_batch", "cache", 1, 100000))
    c.commit_batch = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "purge_after_s", "cache", 0, 86400)) c.purge_after = seconds(*v);
  if (auto v = r.integer(*t, "purge_timeout_s", "cache", 1, 86400))
    c.purge_timeout = static_cast<std::uint32_t>(*v);
  if (auto v = r.integer(*t, "direct_refresh_s", "cache", 1, 3600)) c.direct_refresh = seconds(*v);
  if (auto v = r.integer(*t, "commit_delay_ms", "cache", 0, 60000))
    c.commit_delay = milliseconds(*v);
}

void read_takeover(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "takeover");
  if (t == nullptr) return;
  r.only(*t, "takeover",
         {"queue", "queue_length", "hold_max_ms", "hold_max_packets", "early_write_life_s"});
  if (auto v = r.integer(*t, "queue", "takeover", 0, 65535))
    c.takeover_queue = static_cast<std::uint16_t>(*v);
  if (auto v = r.integer(*t, "queue_length", "takeover", 16, 1 << 20))
    c.takeover_queue_length = static_cast<std::uint32_t>(*v);
  if (auto v = r.integer(*t, "hold_max_ms", "takeover", 1, 10000)) c.hold_max = milliseconds(*v);
  if (auto v = r.integer(*t, "hold_max_packets", "takeover", 1, 1 << 20))
    c.hold_max_packets = static_cast<std::size_t>(*v);
  if (auto v = r.integer(*t, "early_write_life_s", "takeover", 1, 3600))
    c.early_write_life = seconds(*v);
}

void read_kernel(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "kernel");
  if (t == nullptr) return;
  r.only(*t, "kernel",
         {"netlink_buffer", "netlink_buffer_max", "tcp_window_tracking", "accounting_interval_s"});
  if (auto v = r.integer(*t, "netlink_buffer", "kernel", 65536, 1 << 30))
    c.netlink_buffer = static_cast<int>(*v);
  if (auto v = r.integer(*t, "netlink_buffer_max", "kernel", 65536, 1 << 30))
    c.netlink_buffer_max = static_cast<int>(*v);
  if (c.netlink_buffer_max < c.netlink_buffer) {
    r.error_at(*t, "kernel.netlink_buffer_max", "must not be smaller than netlink_buffer");
  }
  if (auto v = r.boolean(*t, "tcp_window_tracking", "kernel")) c.tcp_window_tracking = *v;
  if (auto v = r.integer(*t, "accounting_interval_s", "kernel", 0, 3600))
    c.accounting_interval = seconds(*v);
}

void read_filter(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "filter");
  if (t == nullptr) return;
  r.only(*t, "filter",
         {"accept_protocols", "accept_addresses", "address_match", "ignore_protocols",
          "ignore_addresses", "ignore_tcp_states", "ignore_zones", "ignore_marks",
          "ignore_loopback", "ignore_own_addresses", "virtual_addresses"});
  FilterRules& f = c.filter;
  const auto protocols = [&](const char* key, std::vector<std::uint8_t>& out) {
    for (const toml::node* n : r.array(*t, key, "filter")) {
      std::optional<std::uint8_t> p;
      if (auto i = n->value<std::int64_t>(); i && *i >= 0 && *i <= 255)
        p = static_cast<std::uint8_t>(*i);
      if (auto s = n->value<std::string>()) p = protocol_number(*s);
      if (!p)
        r.error(*n, std::string("filter.") + key,
                "not a protocol name (tcp, udp, ...) or number 0-255");
      else
        out.push_back(*p);
    }
  };
  protocols("accept_protocols", f.accept_protocols);
  protocols("ignore_protocols", f.ignore_protocols);
  const auto cidrs = [&](const char* key, std::vector<Cidr>& out) {
    for (const toml::node* n : r.array(*t, key, "filter")) {
      const auto s = n->value<std::string>();
      auto cidr = s ? parse_cidr(*s) : std::nullopt;
      if (!cidr) {
        r.error(*n, std::string("filter.") + key,
                "'" + s.value_or("?") + "' is not an address or prefix (host bits must be zero)");
      } else {
        out.push_back(*cidr);
      }
    }
  };
  cidrs("accept_addresses", f.accept_addresses);
  cidrs("ignore_addresses", f.ignore_addresses);
  cidrs("virtual_addresses", f.virtual_addresses);
  if (auto v = r.string(*t, "address_match", "filter")) {
    if (*v == "original")
      f.address_match = AddressMatch::original;
    else if (*v == "sources")
      f.address_match = AddressMatch::sources;
    else
      r.error(*t->get("address_match"), "filter.address_match",
              "must be \"original\" or \"sources\", not \"" + *v + "\"");
  }
  for (const toml::node* n : r.array(*t, "ignore_tcp_states", "filter")) {
    const auto s = n->value<std::string>();
    auto st = s ? tcp_state_number(*s) : std::nullopt;
    if (!st)
      r.error(*n, "filter.ignore_tcp_states",
              "not a TCP state name (SYN_SENT, ESTABLISHED, TIME_WAIT, ...)");
    else
      f.ignore_tcp_states.push_back(*st);
  }
  for (const toml::node* n : r.array(*t, "ignore_zones", "filter")) {
    auto i = n->value<std::int64_t>();
    if (!i || *i < 0 || *i > 65535)
      r.error(*n, "filter.ignore_zones", "zones are integers 0-65535");
    else
      f.ignore_zones.push_back(static_cast<std::uint16_t>(*i));
  }
  for (const toml::node* n : r.array(*t, "ignore_marks", "filter")) {
    std::optional<MarkMatch> m;
    if (auto i = n->value<std::int64_t>(); i && *i >= 0 && *i <= 0xffffffffLL) {
      m = MarkMatch{static_cast<std::uint32_t>(*i), 0xffffffff};
    } else if (auto s = n->value<std::string>()) {
      const auto slash = s->find('/');
      auto v = parse_u32(std::string_view(*s).substr(0, slash));
      auto mask = slash == std::string::npos ? std::optional<std::uint32_t>(0xffffffff)
                                             : parse_u32(std::string_view(*s).substr(slash + 1));
      if (v && mask) m = MarkMatch{*v & *mask, *mask};
    }
    if (!m)
      r.error(*n, "filter.ignore_marks",
              "marks are integers or \"value/mask\" strings such as \"0x10/0xff\"");
    else
      f.ignore_marks.push_back(*m);
  }
  if (auto v = r.boolean(*t, "ignore_loopback", "filter")) f.ignore_loopback = *v;
  if (auto v = r.boolean(*t, "ignore_own_addresses", "filter")) f.ignore_own_addresses = *v;
}

void read_metrics(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "metrics");
  if (t == nullptr) return;
  r.only(*t, "metrics", {"listen"});
  if (auto v = r.string(*t, "listen", "metrics")) {
    if (!v->empty() && !parse_host_port(*v, 0)) {
      r.error(*t->get("listen"), "metrics.listen",
              "'" + *v + "' is not address:port (empty disables metrics)");
    }
    c.metrics_listen = *v;
  }
}

void read_control(Reader& r, const toml::table& root, Config& c) {
  const toml::table* t = r.table(root, "control");
  if (t == nullptr) return;
  r.only(*t, "control", {"socket"});
  if (auto v = r.string(*t, "socket", "control")) {
    if (v->empty() || v->front() != '/')
      r.error(*t->get("socket"), "control.socket", "must be an absolute path");
    c.control_socket = *v;
  }
}

void record_lines(const toml::table& t, const std::string& prefix,
                  std::map<std::string, int>& lines) {
  for (const auto& [k, v] : t) {
    const std::string path =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    lines[path] = static_cast<int>(k.source().begin.line);
    if (const auto* sub = v.as_table()) record_lines(*sub, path, lines);
    if (const auto* arr = v.as_array()) {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        if (const auto* st = arr->get(i)->as_table()) {
          const std::string ip = path + "[" + std::to_string(i) + "]";
          lines[ip] = static_cast<int>(st->source().begin.line);
          record_lines(*st, ip, lines);
        }
      }
    }
  }
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return make_error(path + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
  Reader r(path);
  Config c;
  c.path = path;
  record_lines(root, "", c.lines);
  r.only(root, "", {"node", "sync", "cache", "takeover", "kernel", "filter", "metrics", "control"});
  read_node(r, root, c);
  read_sync(r, root, c);
  read_cache(r, root, c);
  read_takeover(r, root, c);
  read_kernel(r, root, c);
  read_filter(r, root, c);
  read_metrics(r, root, c);
  read_control(r, root, c);
  if (!r.errors().empty()) {
    std::string all;
    for (const auto& e : r.errors()) all += (all.empty() ? "" : "\n") + e;
    return make_error(all);
  }
  return c;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return make_error(path + ": cannot open the configuration file: " + std::strerror(errno),
                      errno);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace ctsync

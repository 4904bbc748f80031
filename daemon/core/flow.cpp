#include "ctsync/flow.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

namespace ctsync {

std::string_view tcp_state_name(TcpState state) {
  switch (state) {
    case TcpState::none:
      return "NONE";
    case TcpState::syn_sent:
      return "SYN_SENT";
    case TcpState::syn_recv:
      return "SYN_RECV";
    case TcpState::established:
      return "ESTABLISHED";
    case TcpState::fin_wait:
      return "FIN_WAIT";
    case TcpState::close_wait:
      return "CLOSE_WAIT";
    case TcpState::last_ack:
      return "LAST_ACK";
    case TcpState::time_wait:
      return "TIME_WAIT";
    case TcpState::close:
      return "CLOSE";
    case TcpState::syn_sent2:
      return "SYN_SENT2";
  }
  return "UNKNOWN";
}

std::string_view sctp_state_name(SctpState state) {
  switch (state) {
    case SctpState::none:
      return "NONE";
    case SctpState::closed:
      return "CLOSED";
    case SctpState::cookie_wait:
      return "COOKIE_WAIT";
    case SctpState::cookie_echoed:
      return "COOKIE_ECHOED";
    case SctpState::established:
      return "ESTABLISHED";
    case SctpState::shutdown_sent:
      return "SHUTDOWN_SENT";
    case SctpState::shutdown_recd:
      return "SHUTDOWN_RECD";
    case SctpState::shutdown_ack_sent:
      return "SHUTDOWN_ACK_SENT";
    case SctpState::heartbeat_sent:
      return "HEARTBEAT_SENT";
  }
  return "UNKNOWN";
}

namespace {
// Append-only: an index once handed out names the same string for the life of the process,
// so readers need no lock; the count is published after the name is written.
struct HelperNames {
  std::array<std::array<char, HelperName::max_length + 1>, HelperName::max_names + 1> names{};
  std::atomic<std::size_t> count{1};  // index 0 is "no helper"
  std::mutex writing;
  std::atomic<std::uint64_t> refused_kernel{0}, refused_peer{0};
};
HelperNames& helper_names() {
  static HelperNames table;
  return table;
}
std::string_view name_at(const HelperNames& t, std::size_t i) {
  return std::string_view(t.names[i].data());
}
}  // namespace

std::optional<HelperName> HelperName::intern(std::string_view name, Origin origin) {
  name = name.substr(0, std::min(name.size(), max_length));
  name = name.substr(0, name.find('\0'));
  HelperName h;
  if (name.empty()) return h;
  HelperNames& t = helper_names();
  auto find = [&](std::size_t n) -> std::size_t {
    for (std::size_t i = 1; i < n; ++i) {
      if (name_at(t, i) == name) return i;
    }
    return 0;
  };
  std::size_t i = find(t.count.load(std::memory_order_acquire));
  if (i == 0) {
    std::lock_guard lock(t.writing);
    const std::size_t n = t.count.load(std::memory_order_relaxed);
    i = find(n);
    if (i == 0) {
      const std::size_t room = origin == Origin::kernel ? max_names : max_names - kept_for_kernel;
      if (n > room) {
        (origin == Origin::kernel ? t.refused_kernel : t.refused_peer) += 1;
        return std::nullopt;
      }
      std::copy(name.begin(), name.end(), t.names[n].begin());
      t.count.store(n + 1, std::memory_order_release);
      i = n;
    }
  }
  h.index_ = static_cast<std::uint8_t>(i);
  return h;
}

HelperName::HelperName(std::string_view name) : HelperName(intern(name).value_or(HelperName{})) {}

std::uint64_t HelperName::refused(Origin origin) {
  const HelperNames& t = helper_names();
  return (origin == Origin::kernel ? t.refused_kernel : t.refused_peer).load();
}

std::string_view HelperName::view() const {
  return name_at(helper_names(), index_);
}

bool same_replicated_state(const Flow& a, const Flow& b) {
  return a.key == b.key && a.reply == b.reply && a.status == b.status && a.timeout == b.timeout &&
         a.mark == b.mark && a.tcp == b.tcp && a.sctp == b.sctp && a.helper == b.helper &&
         a.seq_original == b.seq_original && a.seq_reply == b.seq_reply && a.labels == b.labels &&
         a.start_ns == b.start_ns;
}

void merge_fields(Flow& into, const Flow& from, std::uint16_t present) {
  into.key = from.key;
  into.reply = from.reply;
  if (present & field::status) into.status = from.status;
  if (present & field::timeout) into.timeout = from.timeout;
  if (present & field::mark) into.mark = from.mark;
  if (present & field::protoinfo) {
    into.tcp = from.tcp;
    into.sctp = from.sctp;
  }
  if (present & field::helper) into.helper = from.helper;
  if (present & field::labels) into.labels = from.labels;
  if (present & field::start) into.start_ns = from.start_ns;
  if (present & field::seq_adjust) {
    into.seq_original = from.seq_original;
    into.seq_reply = from.seq_reply;
  }
}

}  // namespace ctsync

// ctsyncctl: the operator's tool for a running ctsyncd.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "config/conntrackd_import.hpp"
#include "control/control_request.hpp"
#include "net/key_ring.hpp"

namespace {

// Documented exit codes (ctsyncctl(8)).
constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  // the daemon refused or the command failed; `ready`: not ready
constexpr int exit_usage = 2;
constexpr int exit_not_running = 3;
constexpr int exit_permission = 4;

int talk(const std::string& socket_path, const ctsync::ControlRequest& req) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "ctsyncctl: socket path too long: %s\n", socket_path.c_str());
    return exit_usage;
  }
  std::strcpy(addr.sun_path, socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EACCES || e == EPERM) {
      std::fprintf(stderr,
                   "ctsyncctl: %s: permission denied (root and members of the daemon's group "
                   "only)\n",
                   socket_path.c_str());
      return exit_permission;
    }
    std::fprintf(stderr, "ctsyncctl: cannot reach ctsyncd at %s: %s (is the daemon running?)\n",
                 socket_path.c_str(), std::strerror(e));
    return exit_not_running;
  }
  const std::string line = ctsync::format_control_request(req) + "\n";
  // A daemon that refuses the caller answers at once and closes without reading: the request
  // then meets a closed socket (no SIGPIPE: MSG_NOSIGNAL), and the answer is still there.
  const ssize_t sent = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  const int send_error = sent == static_cast<ssize_t>(line.size()) ? 0 : errno;
  std::string reply;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.empty() && send_error != 0) {
    std::fprintf(stderr, "ctsyncctl: write to %s: %s\n", socket_path.c_str(),
                 std::strerror(send_error));
    return exit_not_running;
  }
  const auto nl = reply.find('\n');
  const auto head = nlohmann::json::parse(reply.substr(0, nl), nullptr, false);
  if (head.is_discarded() || !head.contains("ok")) {
    std::fprintf(stderr, "ctsyncctl: unreadable reply from %s\n", socket_path.c_str());
    return exit_failed;
  }
  if (nl != std::string::npos) std::fwrite(reply.data() + nl + 1, 1, reply.size() - nl - 1, stdout);
  if (!head["ok"].get<bool>()) {
    if (req.command != ctsync::ControlCommand::ready) {
      std::fprintf(stderr, "ctsyncctl: %s\n", head.value("error", std::string("failed")).c_str());
    }
    return head.value("error", std::string()).rfind("permission denied", 0) == 0 ? exit_permission
                                                                                 : exit_failed;
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ctsyncctl - control a running ctsyncd"};
  app.require_subcommand(1);
  std::string socket_path = "/run/ctsyncd/ctsyncd.sock";
  app.add_option("-s,--socket", socket_path, "control socket of the ctsyncd instance")
      ->capture_default_str();
  ctsync::ControlRequest req;
  bool json = false, internal = false, external = false;
  std::size_t limit = 0;

  auto add = [&](const char* name, ctsync::ControlCommand cmd, const char* help) {
    auto* sc = app.add_subcommand(name, help);
    sc->callback([&req, cmd] { req.command = cmd; });
    return sc;
  };
  add("status", ctsync::ControlCommand::status, "role, readiness, peers, cache sizes")
      ->add_flag("--json", json);
  add("stats", ctsync::ControlCommand::stats, "counters")->add_flag("--json", json);
  auto* flows = add("flows", ctsync::ControlCommand::flows, "list flows, like conntrack -L");
  flows->add_flag("--internal", internal, "this node's own flows (default)");
  flows->add_flag("--external", external, "flows held for peers");
  flows->add_flag("--json", json);
  flows->add_option("--limit", limit, "at most this many");
  auto* exps = add("expectations", ctsync::ControlCommand::expectations,
                   "list expectations, like conntrack -L expect");
  exps->add_flag("--internal", internal, "this node's own expectations (default)");
  exps->add_flag("--external", external, "expectations held for peers");
  exps->add_flag("--json", json);
  exps->add_option("--limit", limit, "at most this many");
  add("promote", ctsync::ControlCommand::promote,
      "become active: commit the peers' flows to the kernel");
  add("demote", ctsync::ControlCommand::demote, "become backup");
  add("fault", ctsync::ControlCommand::fault, "enter the fault role");
  add("commit", ctsync::ControlCommand::commit,
      "write the external cache to the kernel (like conntrackd -c)");
  auto* flush = add("flush", ctsync::ControlCommand::flush, "empty a cache (like conntrackd -f)");
  flush->add_flag("--internal", internal);
  flush->add_flag("--external", external);
  add("resync", ctsync::ControlCommand::resync,
      "re-read the kernel table and ask peers for theirs (like -R)");
  add("bulk", ctsync::ControlCommand::bulk,
      "send the whole internal cache to peers (like conntrackd -B)");
  add("ready", ctsync::ControlCommand::ready,
      "exit 0 when this node can take over (for keepalived track_script)");
  std::string key_out;
  auto* keygen =
      app.add_subcommand("keygen", "write a new random sync key (hex) to a file or stdout");
  keygen->add_option("file", key_out, "key file to create (mode 0600)");

  std::string conntrackd_conf;
  auto* import = app.add_subcommand(
      "import-conntrackd",
      "translate a conntrackd.conf into a commented ctsyncd.toml (written to standard output)");
  import->add_option("file", conntrackd_conf, "the conntrackd.conf to translate")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; real usage errors exit 2.
    app.exit(e);
    return e.get_exit_code() == 0 ? 0 : 2;
  }

  if (import->parsed()) {
    std::ifstream in(conntrackd_conf);
    if (!in) {
      std::fprintf(stderr, "ctsyncctl: cannot read %s: %s\n", conntrackd_conf.c_str(),
                   std::strerror(errno));
      return exit_failed;
    }
    const std::string text(std::istreambuf_iterator<char>(in), {});
    const auto toml = ctsync::import_conntrackd(text, conntrackd_conf);
    if (!toml) {
      std::fprintf(stderr, "ctsyncctl: %s\n", toml.error().message.c_str());
      return exit_failed;
    }
    std::fputs(toml->c_str(), stdout);
    return exit_ok;
  }
  if (keygen->parsed()) {
    const std::string key = ctsync::generate_key_text();
    if (key_out.empty()) {
      std::fputs(key.c_str(), stdout);
      return exit_ok;
    }
    if (::access(key_out.c_str(), F_OK) == 0) {
      std::fprintf(stderr, "ctsyncctl: %s exists; a key is never overwritten (remove it first)\n",
                   key_out.c_str());
      return exit_failed;
    }
    const mode_t old = ::umask(0077);
    std::ofstream out(key_out, std::ios::trunc);
    ::umask(old);
    out << key;
    if (!out) {
      std::fprintf(stderr, "ctsyncctl: cannot write %s\n", key_out.c_str());
      return exit_failed;
    }
    return exit_ok;
  }
  if (internal && external) {
    std::fprintf(stderr, "ctsyncctl: choose --internal or --external\n");
    return exit_usage;
  }
  req.json = json;
  req.table = external ? ctsync::FlowTableChoice::external : ctsync::FlowTableChoice::internal;
  if (limit > 0) req.limit = limit;
  return talk(socket_path, req);
}

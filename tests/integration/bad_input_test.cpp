// Bad configurations and bad control requests: one clear error, a non-zero exit, never a
// crash. Runs the real binaries.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "pair_topology.hpp"

namespace ctsync {
namespace {

using test::sh;
using test::sh_output;

struct BadConfig {
  const char* name;
  std::string body;     // after the common head
  bool strict = false;  // an error only the environment check can find
  const char* key;      // the key the message must name
  const char* message;  // and what it must say
  int line = 0;         // the line it must point at (0: do not check)
};

class BadConfigurations : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/ctsync-badconf-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    write(dir_ + "/good.key", "8f1a6b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e\n",
          0600);
    write(dir_ + "/open.key", "8f1a6b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e\n",
          0644);
    write(dir_ + "/short.key", "8f1a6b2c3d4e5f60\n", 0600);
    write(dir_ + "/group.key", "8f1a6b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e\n",
          0640);
    write(dir_ + "/zero.key", std::string(64, '0') + "\n", 0600);
    write(dir_ + "/pattern.key",
          "0102030405060708090a0b0c0d0e0f0102030405060708090a0b0c0d0e0f0101\n", 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }

  // A valid file but for `change`: line 1 [node], ... keys at lines 7-9.
  std::string config(const std::string& sync_extra, const std::string& key_file,
                     const std::string& tail) const {
    return "[node]\nid = 1\n[sync]\ninterface = \"lo\"\nmulticast_group = \"239.255.12.1\"\n" +
           sync_extra + "[[sync.keys]]\nid = 1\nfile = \"" + key_file + "\"\n" +
           "[metrics]\nlisten = \"\"\n" + tail;
  }

  std::string dir_;
};

TEST_F(BadConfigurations, EachGivesOneClearErrorWithFileLineAndKey) {
  const std::string good = dir_ + "/good.key";
  const std::vector<BadConfig> table = {
      {"missing key file", config("", dir_ + "/absent.key", ""), true, "sync.keys[0].file",
       "No such file", 8},
      {"key file readable by others", config("", dir_ + "/open.key", ""), true, "sync.keys[0].file",
       "mode 0644 is too open", 8},
      {"all-zero key", config("", dir_ + "/zero.key", ""), true, "sync.keys[0].file",
       "not a random key (1 distinct byte values", 8},
      {"15 distinct bytes", config("", dir_ + "/pattern.key", ""), true, "sync.keys[0].file",
       "not a random key (15 distinct byte values", 8},
      {"wrong key length", config("", dir_ + "/short.key", ""), true, "sync.keys[0].file",
       "expected 64 hexadecimal characters", 8},
      {"unknown option", config("", good, "[cache]\nturbo = true\n"), false, "cache.turbo",
       "unknown key", 12},
      {"misspelt option", config("", good, "[cache]\nMode = \"direct\"\n"), false, "cache.Mode",
       "did you mean 'mode'?", 12},
      {"wrong type", config("port = \"3780\"\n", good, ""), false, "sync.port",
       "must be an integer", 6},
      {"bad CIDR", config("", good, "[filter]\nignore_addresses = [\"10.1.2.0/33\"]\n"), false,
       "filter.ignore_addresses", "is not an address or prefix", 12},
      {"bad multicast group",
       "[node]\nid = 1\n[sync]\ninterface = \"lo\"\nmulticast_group = \"192.0.2.1\"\n"
       "[[sync.keys]]\nid = 1\nfile = \"" +
           good + "\"\n",
       false, "sync.multicast_group", "is not an IPv4 or IPv6 multicast address", 5},
      {"missing interface",
       "[node]\nid = 1\n[sync]\ninterface = \"nosuch0\"\nmulticast_group = \"239.255.12.1\"\n"
       "[[sync.keys]]\nid = 1\nfile = \"" +
           good + "\"\n[metrics]\nlisten = \"\"\n",
       true, "sync.interface", "no interface named 'nosuch0'", 4},
      {"port in use", config("port = 47999\n", good, ""), true, "sync.port", "is not free", 6},
  };
  // Hold the port of the last case.
  const int busy = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(47999);
  ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

  for (const auto& b : table) {
    const std::string path = dir_ + "/case.toml";
    std::ofstream(path) << b.body;
    const std::string cmd = std::string(CTSYNCD_PATH) + " --check-config " +
                            (b.strict ? "--strict " : "") + "-c " + path;
    const std::string out = sh_output(cmd + " 2>&1; echo \"exit=$?\"");
    EXPECT_EQ(out.find("exit=0"), std::string::npos) << b.name << ": accepted\n" << out;
    const std::string at = path + ":" + std::to_string(b.line) + ":";
    EXPECT_NE(out.find(at), std::string::npos) << b.name << ": no " << at << "\n" << out;
    EXPECT_NE(out.find(b.key), std::string::npos) << b.name << ": key not named\n" << out;
    EXPECT_NE(out.find(b.message), std::string::npos) << b.name << "\n" << out;
    // One error, one line (plus the exit marker).
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << b.name << "\n" << out;
    if (!b.strict) {
      // Found without --strict too: only the environment needs --strict.
      EXPECT_NE(sh(cmd + " >/dev/null 2>&1"), 0) << b.name;
    }
  }
  ::close(busy);
  // A group-readable key (0640: the service's group) passes, as a 0600 one does.
  std::ofstream(dir_ + "/group.toml") << config("port = 47998\n", dir_ + "/group.key",
                                                "[control]\nsocket = \"" + dir_ + "/c.sock\"\n");
  EXPECT_EQ(sh(std::string(CTSYNCD_PATH) + " --check-config --strict -c " + dir_ +
               "/group.toml >/dev/null 2>&1"),
            0);
  // And the good file passes both checks.
  std::ofstream(dir_ + "/ok.toml")
      << config("port = 47998\n", good, "[control]\nsocket = \"" + dir_ + "/c.sock\"\n");
  EXPECT_EQ(sh(std::string(CTSYNCD_PATH) + " --check-config --strict -c " + dir_ +
               "/ok.toml >/dev/null 2>&1"),
            0);
}

// With net.netfilter.nf_conntrack_events=0 the kernel sends no events: a strict check says
// so, and passes again once events are back on.
TEST_F(BadConfigurations, KernelEventsSwitchedOffFailTheStrictCheck) {
  test::Namespace ns("ev");
  const std::string path = dir_ + "/events.toml";
  std::ofstream(path) << config("port = 47997\n", dir_ + "/good.key",
                                "[control]\nsocket = \"" + dir_ + "/e.sock\"\n");
  const std::string check =
      std::string(CTSYNCD_PATH) + " --check-config --strict -c " + path + " 2>&1; echo exit=$?";
  ns.must("sysctl -qw net.netfilter.nf_conntrack_events=0");
  const std::string off = sh_output(ns.exec("sh -c '" + check + "'"));
  EXPECT_EQ(off.find("exit=0"), std::string::npos) << off;
  EXPECT_NE(off.find("nf_conntrack_events is 0"), std::string::npos) << off;
  ns.must("sysctl -qw net.netfilter.nf_conntrack_events=1");
  const std::string on = sh_output(ns.exec("sh -c '" + check + "'"));
  EXPECT_NE(on.find("exit=0"), std::string::npos) << on;
}

std::string raw_request(const std::string& socket_path, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "connect failed";
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return reply;
}

TEST(ControlSocket, RootOnlyAndMalformedRequestsGetAnErrorReply) {
  test::PairTopology t;
  t.start_daemon(1);
  const std::string sock = t.socket_path(1);
  struct stat st {};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the control socket must be root-only";

  // A non-root user is told plainly, with its own exit code.
  const std::string out = sh_output("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                                    std::string(CTSYNCCTL_PATH) + " --socket " + sock +
                                    " status 2>&1; echo \"exit=$?\"");
  EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
  EXPECT_NE(out.find("exit=4"), std::string::npos) << out;

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"garbage\n", "not valid JSON"},
      {"{\"command\":\"explode\"}\n", "unknown command"},
      {"{\"command\":\"flows\",\"limit\":\"all\"}\n", "must be a non-negative integer"},
      {"[]\n", "JSON object"},
      {std::string(70000, 'x'), "request too long"},
      {std::string("{\"command\":\"status\"\0}\n", 22), "not valid JSON"},
  };
  for (const auto& [req, expect] : bad) {
    const std::string reply = raw_request(sock, req);
    EXPECT_NE(reply.find("\"ok\":false"), std::string::npos) << reply;
    EXPECT_NE(reply.find(expect), std::string::npos) << reply;
  }
  // Still serving.
  EXPECT_EQ(t.ctl(1, "status"), 0);
  EXPECT_TRUE(t.d1.running());
  // No daemon: its own exit code.
  EXPECT_EQ(
      sh(std::string(CTSYNCCTL_PATH) + " --socket /tmp/ctsync-nowhere.sock status >/dev/null 2>&1"),
      3);
}

// The key rules hold for the daemon itself, not only for --check-config --strict: a key file
// others can read is refused at start-up, and on reload (SIGHUP) the running keys are kept.
TEST(KeyFile, TooOpenOrWeakKeyIsRefusedAtStartAndOnReload) {
  test::PairTopology t;
  const std::string key = t.dir + "/sync.key";
  auto start_output = [&](int node) {
    t.write_config(node);
    const auto& ns = node == 1 ? t.fw1 : t.fw2;
    return sh_output(ns.exec("timeout 10 " + std::string(CTSYNCD_PATH) + " -c " +
                             t.config_path(node) + " 2>&1; echo exit=$?"));
  };
  ::chmod(key.c_str(), 0644);
  std::string out = start_output(2);
  EXPECT_NE(out.find("exit=3"), std::string::npos) << out;
  EXPECT_NE(out.find(key + ": mode 0644 is too open"), std::string::npos) << out;
  EXPECT_NE(out.find("chmod 0600 " + key), std::string::npos) << "the fix is named\n" << out;

  const std::string weak = t.dir + "/weak.key";
  std::ofstream(weak) << std::string(64, '0') << "\n";
  ::chmod(weak.c_str(), 0600);
  const std::string weak_config = t.dir + "/weak.toml";
  t.write_config(2);
  std::string text;
  {
    std::ifstream in(t.config_path(2));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find(key), key.size(), weak);
  std::ofstream(weak_config) << text;
  out = sh_output(t.fw2.exec("timeout 10 " + std::string(CTSYNCD_PATH) + " -c " + weak_config +
                             " 2>&1; echo exit=$?"));
  EXPECT_NE(out.find("exit=3"), std::string::npos) << out;
  EXPECT_NE(out.find(weak + ": not a random key"), std::string::npos) << out;

  // Running with a good key; the file then becomes readable by others: the reload is refused,
  // the daemon keeps its keys and keeps serving.
  ::chmod(key.c_str(), 0600);
  t.start_daemon(1);
  ::chmod(key.c_str(), 0644);
  t.d1.signal(SIGHUP);
  EXPECT_TRUE(test::PairTopology::wait_for(
      [&] { return t.d1.log().find("reload failed") != std::string::npos; },
      std::chrono::milliseconds(10000)))
      << t.d1.log();
  EXPECT_NE(t.d1.log().find("mode 0644 is too open"), std::string::npos) << t.d1.log();
  EXPECT_TRUE(t.d1.running());
  EXPECT_EQ(t.ctl(1, "status"), 0);
}

}  // namespace
}  // namespace ctsync

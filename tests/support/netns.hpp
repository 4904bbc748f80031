#pragma once
// Network namespaces for integration tests: uniquely named (two runs never collide), removed
// on destruction, and enterable per thread so one test process can own sockets in several.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ctsync::test {

// Runs a shell command; returns its exit status.
inline int sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

// Runs a shell command and returns its standard output.
inline std::string sh_output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

inline void sh_or_throw(const std::string& cmd) {
  if (sh(cmd) != 0) throw std::runtime_error("command failed: " + cmd);
}

class Namespace {
 public:
  explicit Namespace(const std::string& role) {
    static int counter = 0;
    name_ = "cts-" + role + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    sh_or_throw("ip netns add " + name_);
    sh_or_throw("ip netns exec " + name_ + " ip link set lo up");
  }
  ~Namespace() {
    // Processes a test started inside are killed with the namespace's last reference.
    sh("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9 2>/dev/null");
    sh("ip netns del " + name_ + " 2>/dev/null");
  }
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }
  std::string exec(const std::string& cmd) const { return "ip netns exec " + name_ + " " + cmd; }
  int run(const std::string& cmd) const { return sh(exec("sh -c '" + cmd + "'")); }
  void must(const std::string& cmd) const { sh_or_throw(exec("sh -c '" + cmd + "'")); }
  std::string output(const std::string& cmd) const {
    return sh_output(exec("sh -c '" + cmd + "'"));
  }

 private:
  std::string name_;
};

// Joins two namespaces with a veth pair: `a_if` in a, `b_if` in b, both up.
inline void veth(const Namespace& a, const std::string& a_if, const Namespace& b,
                 const std::string& b_if) {
  static int made = 0;
  const std::string tmp =
      "vt" + std::to_string(::getpid() % 100000) + "n" + std::to_string(made++ % 1000);
  sh_or_throw("ip link add " + tmp + "a type veth peer name " + tmp + "b");
  sh_or_throw("ip link set " + tmp + "a netns " + a.name() + " name " + a_if);
  sh_or_throw("ip link set " + tmp + "b netns " + b.name() + " name " + b_if);
  for (const auto& [ns, ifn] : {std::pair{&a, a_if}, std::pair{&b, b_if}}) {
    ns->must("sysctl -qw net.ipv6.conf." + ifn + ".accept_dad=0");
    ns->must("ip link set " + ifn + " up");
  }
}

// Moves the calling thread into a namespace for its lifetime; sockets created meanwhile stay
// in that namespace after the thread leaves it.
class EnterNamespace {
 public:
  explicit EnterNamespace(const Namespace& ns) {
    self_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
    if (self_ < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
      if (target >= 0) ::close(target);
      throw std::runtime_error("cannot enter namespace " + ns.name());
    }
    ::close(target);
  }
  ~EnterNamespace() {
    ::setns(self_, CLONE_NEWNET);
    ::close(self_);
  }
  EnterNamespace(const EnterNamespace&) = delete;
  EnterNamespace& operator=(const EnterNamespace&) = delete;

 private:
  int self_ = -1;
};

}  // namespace ctsync::test

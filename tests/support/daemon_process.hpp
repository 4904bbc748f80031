#pragma once
// Runs ctsyncd (or any program) inside a network namespace as a child of the test, with its
// output in a log file; stops it with a signal and reaps it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ctsync::test {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { kill(SIGKILL); }

  // argv[0] is looked up in PATH; env entries are added to the child's environment.
  void start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& env = {}) {
    log_path_ = log_path;
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setpgid(0, 0);
      for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // Sends `sig` to the whole process group (ip netns exec and the program) and waits up to
  // `wait` for it to end. Returns the exit status (waitpid form) or -1 if still running.
  int kill(int sig, std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) {
    if (pid_ <= 0) return exit_status_;
    ::kill(-pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) return exit_status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(-pid_, sig);
  }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string log_path_;
};

}  // namespace ctsync::test

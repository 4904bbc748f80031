#pragma once
// FTP for the expectation tests: vsftpd from Debian as the server, and a scripted client
// whose steps (login, PASV/EPSV or PORT/EPRT, RETR) a test calls one at a time, so that a
// failover can happen between announcing a data connection and opening it.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "daemon_process.hpp"
#include "routed_topology.hpp"

namespace ctsync::test {

// vsftpd in `ns`, anonymous and read-only, serving one file (`name`) on port 21 of every
// address, IPv4 and IPv6.
class FtpServer {
 public:
  static constexpr const char* name = "payload.bin";

  FtpServer(const Namespace& ns, const std::string& dir) : ns_(ns) {
    namespace fs = std::filesystem;
    fs::create_directories(dir + "/ftp-root");
    fs::create_directories(dir + "/ftp-empty");
    for (int i = 0; i < 2000; ++i)
      content_ += "ctsyncd expectation test line " + std::to_string(i) + "\n";
    std::ofstream(dir + "/ftp-root/" + name) << content_;
    const std::string conf = dir + "/vsftpd.conf";
    std::ofstream(conf) << "listen=NO\nlisten_ipv6=YES\nbackground=NO\n"
                        << "anonymous_enable=YES\nno_anon_password=YES\nanon_root=" << dir
                        << "/ftp-root\nftp_username=daemon\nnopriv_user=nobody\n"
                        << "local_enable=NO\nwrite_enable=NO\nseccomp_sandbox=NO\n"
                        << "secure_chroot_dir=" << dir << "/ftp-empty\n"
                        << "pasv_enable=YES\npasv_min_port=40000\npasv_max_port=40999\n"
                        << "port_enable=YES\nconnect_from_port_20=NO\n"
                        << "xferlog_enable=NO\nhide_ids=YES\nuse_localtime=NO\n";
    proc_.start({"ip", "netns", "exec", ns.name(), "vsftpd", conf}, dir + "/vsftpd.log");
    for (int i = 0; i < 100; ++i) {
      if (ns.run("ss -ltn | grep -q ':21 '") == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("vsftpd did not start: " + proc_.log());
  }

  const std::string& content() const { return content_; }

 private:
  const Namespace& ns_;
  ChildProcess proc_;
  std::string content_;
};

class FtpClient {
 public:
  using Ms = std::chrono::milliseconds;

  // Connects from `ns` (from `local`, if given) to the server's port 21 and logs in.
  FtpClient(const Namespace& ns, std::string server, std::string local = "")
      : ns_(ns), server_(std::move(server)), v6_(server_.find(':') != std::string::npos) {
    control_ = socket_in(ns_, v6_ ? AF_INET6 : AF_INET, SOCK_STREAM);
    if (!local.empty()) bind_to(control_, local, 0);
    auto sa = endpoint(server_, 21);
    set_nonblocking(control_);
    ::connect(control_, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa));
    if (!wait_for(control_, POLLOUT, Ms(3000))) throw std::runtime_error("FTP connect " + server_);
    sockaddr_storage me{};
    socklen_t len = sizeof me;
    ::getsockname(control_, reinterpret_cast<sockaddr*>(&me), &len);
    local_ = address_of(me);
    expect(220, Ms(3000), "greeting");
    command("USER anonymous");
    auto login = reply(Ms(3000));
    if (login.first == 331) {
      command("PASS ctsync@");
      login = reply(Ms(3000));
    }
    if (login.first != 230) throw std::runtime_error("FTP login: " + login.second);
    command("TYPE I");
    expect(200, Ms(3000), "TYPE I");
  }
  ~FtpClient() {
    for (int fd : {control_, listener_, data_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  FtpClient(const FtpClient&) = delete;
  FtpClient& operator=(const FtpClient&) = delete;

  // PASV (IPv4) or EPSV (IPv6): the helper on the firewall sees the reply and expects the
  // data connection to the port it names.
  int passive() {
    command(v6_ ? "EPSV" : "PASV");
    const auto [code, text] = reply(Ms(3000));
    if (code != (v6_ ? 229 : 227)) throw std::runtime_error("FTP passive: " + text);
    if (v6_) {
      const auto a = text.find("|||");
      data_port_ = std::stoi(text.substr(a + 3));
    } else {
      const auto open = text.find('(');
      int h[6] = {};
      std::sscanf(text.c_str() + open, "(%d,%d,%d,%d,%d,%d)", &h[0], &h[1], &h[2], &h[3], &h[4],
                  &h[5]);
      data_port_ = h[4] * 256 + h[5];
    }
    passive_ = true;
    return data_port_;
  }

  // PORT (IPv4) or EPRT (IPv6) naming a listener on this client: the helper expects the
  // server's data connection back to it.
  void active() {
    listener_ = socket_in(ns_, v6_ ? AF_INET6 : AF_INET, SOCK_STREAM);
    bind_to(listener_, local_, 0);
    ::listen(listener_, 1);
    set_nonblocking(listener_);
    sockaddr_storage me{};
    socklen_t len = sizeof me;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&me), &len);
    const int port = v6_ ? ntohs(reinterpret_cast<sockaddr_in6*>(&me)->sin6_port)
                         : ntohs(reinterpret_cast<sockaddr_in*>(&me)->sin_port);
    if (v6_) {
      command("EPRT |2|" + local_ + "|" + std::to_string(port) + "|");
    } else {
      std::string dotted = local_;
      for (char& c : dotted) c = c == '.' ? ',' : c;
      command("PORT " + dotted + "," + std::to_string(port / 256) + "," +
              std::to_string(port % 256));
    }
    expect(200, Ms(3000), "PORT/EPRT");
    passive_ = false;
  }

  // RETR of the server's file over the data connection announced last; nothing if that
  // connection cannot be made within `timeout` (a firewall dropped it).
  std::optional<std::string> retrieve(Ms timeout) {
    if (passive_) {
      data_ = socket_in(ns_, v6_ ? AF_INET6 : AF_INET, SOCK_STREAM);
      bind_to(data_, local_, 0);  // the helper expects the control connection's address
      set_nonblocking(data_);
      auto sa = endpoint(server_, data_port_);
      ::connect(data_, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa));
      if (!wait_for(data_, POLLOUT, timeout) || !connected(data_)) return std::nullopt;
      command(std::string("RETR ") + FtpServer::name);
    } else {
      command(std::string("RETR ") + FtpServer::name);
      if (!wait_for(listener_, POLLIN, timeout)) return std::nullopt;
      data_ = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (data_ < 0) return std::nullopt;
    }
    std::string content;
    char buf[16384];
    const auto end = std::chrono::steady_clock::now() + Ms(5000);
    while (std::chrono::steady_clock::now() < end) {
      if (!wait_for(data_, POLLIN, Ms(500))) continue;
      const ssize_t n = ::read(data_, buf, sizeof buf);
      if (n > 0) {
        content.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        break;
      }
    }
    ::close(data_);
    data_ = -1;
    // 150 (opening) then 226 (complete); either may already be queued.
    for (int i = 0; i < 2; ++i) {
      if (reply(Ms(3000)).first == 226) return content;
    }
    return std::nullopt;
  }

  // The control connection still answers.
  bool alive() {
    command("NOOP");
    return reply(Ms(2000)).first == 200;
  }

  const std::string& local_address() const { return local_; }

 private:
  static bool wait_for(int fd, short events, Ms timeout) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 && (p.revents & events);
  }
  static bool connected(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0;
  }
  static std::string address_of(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf,
                  sizeof buf);
    } else {
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    }
    return buf;
  }
  static void bind_to(int fd, const std::string& addr, int port) {
    auto sa = endpoint(addr, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), endpoint_len(sa)) != 0) {
      throw std::runtime_error("bind to " + addr);
    }
  }
  static void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

  void command(const std::string& line) {
    const std::string out = line + "\r\n";
    if (::write(control_, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      throw std::runtime_error("FTP write: " + line);
    }
  }
  // One reply: its code and text; code 0 when nothing complete came in time.
  std::pair<int, std::string> reply(Ms timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      // A reply ends with a line "NNN text" (multi-line replies have "NNN-" before).
      std::size_t start = 0;
      for (std::size_t nl; (nl = pending_.find("\r\n", start)) != std::string::npos;
           start = nl + 2) {
        const std::string line = pending_.substr(start, nl - start);
        if (line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) &&
            line[3] == ' ') {
          pending_.erase(0, nl + 2);
          return {std::stoi(line.substr(0, 3)), line};
        }
      }
      const auto left = std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !wait_for(control_, POLLIN, left)) return {0, "timeout"};
      char buf[2048];
      const ssize_t n = ::read(control_, buf, sizeof buf);
      if (n <= 0) return {0, "closed"};
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }
  void expect(int code, Ms timeout, const char* what) {
    const auto [got, text] = reply(timeout);
    if (got != code) throw std::runtime_error(std::string("FTP ") + what + ": " + text);
  }

  const Namespace& ns_;
  std::string server_;
  bool v6_;
  std::string local_;
  int control_ = -1, listener_ = -1, data_ = -1;
  int data_port_ = 0;
  bool passive_ = true;
  std::string pending_;
};

}  // namespace ctsync::test

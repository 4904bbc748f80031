#include "config/environment_check.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "net/key_ring.hpp"

namespace ctsync {

namespace {

// Tries to bind a socket of `type` on the address and port; "" when it could.
std::string try_bind(int type, const FamilyAddress* addr, Family family, std::uint16_t port) {
  const int af = family == Family::ipv4 ? AF_INET : AF_INET6;
  const int fd = ::socket(af, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  sockaddr_storage ss{};
  socklen_t len;
  if (af == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    if (addr) std::memcpy(&s->sin_addr, addr->address.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    if (addr) std::memcpy(&s->sin6_addr, addr->address.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  std::string err;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) err = std::strerror(errno);
  ::close(fd);
  return err;
}

}  // namespace

std::string kernel_events_problem() {
  const char* path = "/proc/sys/net/netfilter/nf_conntrack_events";
  long v = -1;
  std::ifstream(path) >> v;
  if (v != 0) return "";
  return std::string(path) +
         " is 0: the kernel sends no conntrack events in this namespace, so flow changes would "
         "reach the peers only with the next table dump (sysctl -w "
         "net.netfilter.nf_conntrack_events=1)";
}

std::vector<std::string> check_environment(const Config& c) {
  std::vector<std::string> problems;
  if (auto e = kernel_events_problem(); !e.empty()) problems.push_back(e);
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    auto key = load_key_file(c.keys[i].file, true);
    if (!key)
      problems.push_back(c.where("sync.keys[" + std::to_string(i) + "].file") + ": " +
                         key.error().message);
  }
  if (!c.interface.empty() && ::if_nametoindex(c.interface.c_str()) == 0) {
    problems.push_back(c.where("sync.interface") + ": no interface named '" + c.interface +
                       "' here");
  }
  const Family sync_family = c.multicast_group
                                 ? c.multicast_group->family
                                 : (c.peers.empty() ? Family::ipv4 : c.peers.front().first.family);
  const FamilyAddress* bind = c.bind ? &*c.bind : nullptr;
  if (auto e = try_bind(SOCK_DGRAM, bind, sync_family, c.port); !e.empty()) {
    problems.push_back(c.where("sync.port") + ": UDP port " + std::to_string(c.port) +
                       " is not free: " + e);
  }
  if (!c.metrics_listen.empty()) {
    const auto colon = c.metrics_listen.rfind(':');
    auto host = c.metrics_listen.substr(0, colon);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    const auto addr = parse_any_address(host);
    const int port = std::atoi(c.metrics_listen.c_str() + colon + 1);
    if (addr) {
      if (auto e = try_bind(SOCK_STREAM, &*addr, addr->family, static_cast<std::uint16_t>(port));
          !e.empty()) {
        problems.push_back(c.where("metrics.listen") + ": " + c.metrics_listen +
                           " is not free: " + e);
      }
    }
  }
  const auto dir = std::filesystem::path(c.control_socket).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec) && !std::filesystem::exists(dir.parent_path(), ec)) {
    problems.push_back(c.where("control.socket") + ": neither " + dir.string() +
                       " nor its parent exists");
  }
  return problems;
}

}  // namespace ctsync

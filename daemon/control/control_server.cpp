#include "control/control_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ctsync {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {

constexpr std::size_t max_request = 64 * 1024;

// Root, the daemon's own user, and, when the daemon runs as a group of its own (the packaged
// service: group ctsyncd), that group's members. A daemon run as root keeps the socket for
// root alone: group root is not a list of administrators on every system.
bool peer_may_control(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
  const gid_t service_group = ::getegid();
  if (service_group == 0) return false;
  if (cred.gid == service_group) return true;
  gid_t groups[256];
  socklen_t glen = sizeof groups;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0) return false;
  for (socklen_t i = 0; i < glen / sizeof(gid_t); ++i) {
    if (groups[i] == service_group) return true;
  }
  return false;
}

std::string who_may_control() {
  const gid_t service_group = ::getegid();
  if (service_group == 0) return "root only";
  const group* g = ::getgrgid(service_group);
  return "root and members of group " +
         (g != nullptr ? std::string(g->gr_name) : std::to_string(service_group));
}

struct Session : std::enable_shared_from_this<Session> {
  explicit Session(stream_protocol::socket s) : socket(std::move(s)), buffer(max_request) {}
  stream_protocol::socket socket;
  asio::streambuf buffer;
  std::string reply;

  std::function<bool(std::string&)> more;

  void send(const ControlReply& r) {
    nlohmann::json head{{"ok", r.ok}};
    if (!r.ok) head["error"] = r.error;
    reply = head.dump() + "\n" + r.body;
    more = r.more;
    write(more == nullptr);
  }

  // The socket's buffer sets the pace: the next part is made only when the last is written.
  void write(bool last) {
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(reply),
                      [self, last](const boost::system::error_code& ec, std::size_t) {
                        if (!last && !ec) {
                          self->reply.clear();
                          const bool again = self->more(self->reply);
                          self->write(!again);
                          return;
                        }
                        boost::system::error_code ignored;
                        self->socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
                      });
  }
};

}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::string path, Handler handler)
    : acceptor_(io), path_(std::move(path)), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::open(asio::io_context& io,
                                                           const std::string& path,
                                                           Handler handler) {
  std::unique_ptr<ControlServer> s(new ControlServer(io, path, std::move(handler)));
  std::error_code fec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fec);
  // A socket file left by a crashed daemon; a live daemon would answer a connection.
  if (std::filesystem::exists(path, fec)) {
    stream_protocol::socket probe(io);
    boost::system::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    if (!ec) return make_error("control socket " + path + ": another ctsyncd is running there");
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  // Created owner-only: no window in which others could connect before the mode is set.
  const mode_t old = ::umask(0077);
  s->acceptor_.open(stream_protocol(), ec);
  if (!ec) s->acceptor_.bind(stream_protocol::endpoint(path), ec);
  ::umask(old);
  if (!ec) s->acceptor_.listen(16, ec);
  if (ec) return make_error("control socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), ::getegid() == 0 ? 0600 : 0660);
  s->accept();
  return s;
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, stream_protocol::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto session = std::make_shared<Session>(std::move(sock));
      if (!peer_may_control(session->socket.native_handle())) {
        session->send(
            {false, "permission denied: the control socket is for " + who_may_control(), ""});
      } else {
        asio::async_read_until(
            session->socket, session->buffer, '\n',
            [this, session](const boost::system::error_code& rec, std::size_t n) {
              const auto data = session->buffer.data();
              std::size_t take = 0;
              if (!rec) {
                take = n;
              } else if (rec == asio::error::eof && session->buffer.size() > 0) {
                take = session->buffer.size();  // a last line without its newline
              } else if (rec == asio::error::not_found) {
                session->send({false, "request too long", ""});
                return;
              } else {
                return;  // the client went away
              }
              const std::string line(asio::buffers_begin(data),
                                     asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(take));
              auto req = parse_control_request(line);
              if (!req) {
                session->send({false, "bad request: " + req.error().message, ""});
                return;
              }
              handler_(*req, [session](ControlReply r) { session->send(r); });
            });
      }
    }
    accept();
  });
}

}  // namespace ctsync

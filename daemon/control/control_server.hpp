#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <string>

#include "control/control_reply.hpp"
#include "control/control_request.hpp"
#include "ctsync/result.hpp"

namespace ctsync {

// The root-only Unix socket operators talk to with ctsyncctl. One request per connection:
// a JSON line in; a JSON header line ({"ok":...,"error":...}) and a body out, then close.
class ControlServer {
 public:
  using Respond = ctsync::Respond;
  // Handlers may answer later (a commit answers when it is done).
  using Handler = std::function<void(const ControlRequest&, Respond)>;

  static Result<std::unique_ptr<ControlServer>> open(boost::asio::io_context& io,
                                                     const std::string& path, Handler handler);
  ~ControlServer();

 private:
  ControlServer(boost::asio::io_context& io, std::string path, Handler handler);
  void accept();

  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  Handler handler_;
};

}  // namespace ctsync

#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <vector>

#include "core/sync_engine.hpp"
#include "net/sync_transport.hpp"
#include "ports/sync_link.hpp"

namespace ctsync {

// Joins the replication engine to its transport on the event loop: datagrams in, datagrams
// out, and a timer set to the engine's next deadline. Work is coalesced: many datagrams or
// local changes within one loop turn lead to one poll of the engine.
class ReplicationLink final : public ports::SyncLink {
 public:
  ReplicationLink(boost::asio::io_context& io, SyncEngine& engine, SyncTransport& transport);

  void start();
  void stop();
  // Something changed (a kernel event, a role): let the engine send soon.
  void kick() override;

 private:
  void service();
  void arm(TimePoint when);

  boost::asio::io_context& io_;
  SyncEngine& engine_;
  SyncTransport& transport_;
  boost::asio::steady_timer timer_;
  TimePoint armed_for_{TimePoint::max()};
  bool kicked_ = false;
  bool stopped_ = false;
  std::vector<std::string> out_;
};

}  // namespace ctsync

#include "net/replication_link.hpp"

#include <boost/asio/post.hpp>

namespace ctsync {

ReplicationLink::ReplicationLink(boost::asio::io_context& io, SyncEngine& engine,
                                 SyncTransport& transport)
    : io_(io), engine_(engine), transport_(transport), timer_(io) {}

void ReplicationLink::start() {
  transport_.start([this](std::string_view plaintext) {
    engine_.receive(plaintext, Clock::now());
    kick();
  });
  kick();
}

void ReplicationLink::stop() {
  stopped_ = true;
  timer_.cancel();
  transport_.close();
}

void ReplicationLink::kick() {
  if (kicked_ || stopped_) return;
  kicked_ = true;
  boost::asio::post(io_, [this] {
    kicked_ = false;
    service();
  });
}

void ReplicationLink::service() {
  if (stopped_) return;
  const TimePoint now = Clock::now();
  out_.clear();
  engine_.poll(now, out_);
  // One datagram serves every peer (multicast): while a peer that reads only the pre-shared
  // key's sealing is up, everything goes out that way.
  transport_.send(out_, engine_.legacy_peer_up(now) ? Sealing::raw_key : Sealing::derived_key);
  const TimePoint next = engine_.next_wakeup(Clock::now());
  if (next <= Clock::now()) {
    kick();  // more to send (the engine sends in bounded rounds)
  } else {
    arm(next);
  }
}

void ReplicationLink::arm(TimePoint when) {
  if (when == armed_for_) return;
  armed_for_ = when;
  timer_.expires_at(when);
  timer_.async_wait([this, when](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (armed_for_ == when) armed_for_ = TimePoint::max();
    service();
  });
}

}  // namespace ctsync

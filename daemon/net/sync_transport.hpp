#pragma once
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sync_counters.hpp"
#include "ctsync/ip_address.hpp"
#include "ctsync/result.hpp"
#include "net/datagram_sealer.hpp"

namespace ctsync {

struct UdpEndpoint {
  Family family = Family::ipv4;
  IpAddress address;
  std::uint16_t port = 0;
};

struct TransportConfig {
  std::string interface;                   // the dedicated sync link
  std::optional<FamilyAddress> multicast;  // group to join; unset: unicast to `peers`
  std::uint16_t port = 3780;
  std::vector<UdpEndpoint> peers;     // unicast mode
  std::optional<FamilyAddress> bind;  // unicast mode: local address to bind
  int receive_buffer = 4 << 20;
  int send_buffer = 4 << 20;
  std::size_t mtu = 1500;
};

// The UDP side of replication: joins the multicast group on the sync interface (TTL / hop
// limit 1, loop off) or talks unicast to a list of peers, seals what it sends and opens what
// it receives. Datagrams that do not open are counted by reason and never reach the handler.
class SyncTransport {
 public:
  using Handler = std::function<void(std::string_view plaintext)>;

  static Result<std::unique_ptr<SyncTransport>> open(boost::asio::io_context& io,
                                                     const TransportConfig& config,
                                                     const DatagramSealer& sealer,
                                                     SyncCounters& counters);

  void start(Handler handler);
  // Seals and sends datagrams; runs of equal size go to the kernel together (UDP GSO), dozens per
  // system call, where the kernel allows it. `sealing` raw_key only while a peer of a release
  // before 0.2.0 is up, and never when the sealer's legacy sealing is off.
  void send(const std::vector<std::string>& plaintexts, Sealing sealing = Sealing::derived_key);
  void close();

  // The largest Packet that fits one datagram on this link.
  std::size_t max_plaintext() const;
  std::uint64_t send_errors() const { return send_errors_; }
  std::uint64_t segmented_sends() const { return segmented_sends_; }  // datagrams sent by GSO
  std::string describe() const;  // "multicast 239.1.2.3:3780 on sync0", for logs

 private:
  SyncTransport(boost::asio::io_context& io, TransportConfig config, const DatagramSealer& sealer,
                SyncCounters& counters);
  Result<void> setup();
  void receive_next();
  void drain();
  void deliver(std::string_view datagram);

  boost::asio::ip::udp::socket socket_;
  TransportConfig config_;
  const DatagramSealer& sealer_;
  SyncCounters& counters_;
  Handler handler_;
  std::vector<boost::asio::ip::udp::endpoint> destinations_;
  // Many datagrams per system call: a bulk is thousands of them.
  static constexpr std::size_t batch = 32;
  static constexpr std::size_t slot_bytes = 65536;
  std::unique_ptr<char[]> slots_;  // left untouched until used: pages cost only once filled
  std::vector<mmsghdr> messages_;
  std::vector<iovec> iovecs_;
  std::string plaintext_;
  std::string sealed_;
  std::uint64_t send_errors_ = 0;
  std::uint64_t segmented_sends_ = 0;
  bool segmentation_refused_ = false;  // the route's device cannot: one datagram per call
  std::string batch_;                  // sealed datagrams, back to back
  std::vector<std::size_t> sizes_;
  bool send_segments(const boost::asio::ip::udp::endpoint& dest, const char* data,
                     std::size_t bytes, std::size_t segment);
};

}  // namespace ctsync

#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <unordered_set>
#include <vector>

#include "kernel/netlink_socket.hpp"
#include "ports/packet_queue_port.hpp"

namespace ctsync {

struct PacketQueueConfig {
  std::uint16_t number = 0;
  std::uint32_t max_length = 4096;  // packets the kernel queues for us; beyond, fail-open
  int receive_buffer = 4 << 20;
};

// The packet queue port over nfnetlink_queue (libmnl and libnetfilter_queue's message
// builders): a queue bound fail-open, packets copied up to their transport header, verdicts
// sent together at each flush. Stopping first sets the queue's length to zero (the kernel then
// lets every new packet through), drains and accepts what was queued, and only then unbinds:
// a queue torn down with packets in it would drop them.
class PacketQueue final : public ports::PacketQueuePort {
 public:
  PacketQueue(boost::asio::io_context& io, PacketQueueConfig config);
  ~PacketQueue() override;

  Result<void> listen(ports::PacketSink& sink) override;
  void stop() override;
  bool listening() const override { return sink_ != nullptr; }
  void accept(std::uint32_t id) override;
  Result<void> flush() override;
  std::string describe() const override { return "nfqueue " + std::to_string(config_.number); }

 private:
  Result<void> configure(void (*put)(nlmsghdr*, const PacketQueueConfig&), const char* what);
  void wait();
  // Reads what is queued (at most `budget` datagrams); false on a socket error.
  bool read(int budget, bool to_sink);
  void on_message(const nlmsghdr* nlh, bool to_sink);

  boost::asio::io_context& io_;
  PacketQueueConfig config_;
  NetlinkSocket socket_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;
  ports::PacketSink* sink_ = nullptr;
  std::unordered_set<std::uint32_t> outstanding_;  // handed to us, no verdict sent yet
  std::vector<char> verdicts_;
  std::vector<char> buffer_;
  std::uint32_t seq_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ctsync

#include "kernel/packet_queue.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>

#include <cerrno>
#include <cstring>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "log/log.hpp"

namespace ctsync {

namespace {
namespace asio = boost::asio;

constexpr std::size_t verdict_flush_bytes = 60 * 1024;
// Enough for an IPv6 header, a few extension headers and the ports or ICMP identifier.
constexpr int copy_range = 160;
}  // namespace

PacketQueue::PacketQueue(asio::io_context& io, PacketQueueConfig config)
    : io_(io), config_(config), buffer_(256 * 1024) {}

PacketQueue::~PacketQueue() {
  *alive_ = false;
  stop();
}

Result<void> PacketQueue::configure(void (*put)(nlmsghdr*, const PacketQueueConfig&),
                                    const char* what) {
  std::vector<char> msg(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nfq_nlmsg_put(msg.data(), NFQNL_MSG_CONFIG, config_.number);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  put(nlh, config_);
  // Packets can arrive before the acknowledgement: they go where every packet goes.
  auto r = socket_.request(nlh, buffer_, what,
                           [this](const nlmsghdr* m) { on_message(m, sink_ != nullptr); });
  if (!r) return make_error(describe() + ": " + r.error().message, r.error().code);
  return {};
}

Result<void> PacketQueue::listen(ports::PacketSink& sink) {
  if (sink_ != nullptr) return {};
  auto s = NetlinkSocket::open(0, describe());
  if (!s) return s.error();
  socket_ = std::move(*s);
  if (auto r = socket_.set_receive_buffer(config_.receive_buffer); !r)
    log::warning(describe() + ": " + r.error().message);
  // ENOBUFS tells us we missed packets (the kernel let them through); keep it reported.
  sink_ = &sink;
  auto bind = [](nlmsghdr* nlh, const PacketQueueConfig&) {
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
  };
  auto params = [](nlmsghdr* nlh, const PacketQueueConfig& c) {
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, copy_range);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, c.max_length);
    // Fail-open: a full queue passes packets on. GSO: we read headers only, so the kernel
    // need not segment large packets for us.
    const std::uint32_t flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
  };
  Result<void> r = configure(bind, "bind");
  if (r) r = configure(params, "configure");
  if (!r) {
    sink_ = nullptr;
    socket_ = NetlinkSocket();
    return r;
  }
  fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, socket_.fd());
  if (!outstanding_.empty()) sink.on_packets_read();
  wait();
  return {};
}

void PacketQueue::stop() {
  if (sink_ == nullptr) return;
  sink_ = nullptr;
  // Length zero: from now on the kernel lets every packet through without queueing it. What
  // it queued before is in our socket by the time the acknowledgement is: drain and accept.
  auto zero = [](nlmsghdr* nlh, const PacketQueueConfig&) { nfq_nlmsg_cfg_put_qmaxlen(nlh, 0); };
  if (auto r = configure(zero, "close"); !r) log::warning(r.error().message);
  (void)read(1000, false);
  for (const std::uint32_t id : std::unordered_set<std::uint32_t>(outstanding_)) accept(id);
  if (auto r = flush(); !r) log::warning(r.error().message);
  if (fd_) {
    fd_->release();  // the socket owns the descriptor
    fd_.reset();
  }
  socket_ = NetlinkSocket();  // closing unbinds
}

void PacketQueue::wait() {
  fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                  [this, alive = alive_](const boost::system::error_code& ec) {
                    if (!*alive || ec || sink_ == nullptr) return;
                    if (read(64, true)) sink_->on_packets_read();
                    if (sink_ != nullptr) wait();
                  });
}

bool PacketQueue::read(int budget, bool to_sink) {
  bool any = false;
  for (int i = 0; i < budget; ++i) {
    auto n = socket_.receive(buffer_.data(), buffer_.size(), false);
    if (!n) {
      if (n.error().code == ENOBUFS) {
        if (to_sink && sink_) sink_->on_overrun();
        continue;
      }
      log::warning(describe() + ": " + n.error().message);
      return any;
    }
    if (*n == 0) break;
    any = true;
    std::pair<PacketQueue*, bool> target{this, to_sink};
    mnl_cb_run(
        buffer_.data(), *n, 0, 0,
        [](const nlmsghdr* nlh, void* data) {
          auto* t = static_cast<std::pair<PacketQueue*, bool>*>(data);
          t->first->on_message(nlh, t->second);
          return MNL_CB_OK;
        },
        &target);
  }
  return any;
}

void PacketQueue::on_message(const nlmsghdr* nlh, bool to_sink) {
  if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) return;
  nlattr* attr[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return;
  const auto* hdr =
      static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
  const std::uint32_t id = ntohl(hdr->packet_id);
  outstanding_.insert(id);
  if (!to_sink || sink_ == nullptr || attr[NFQA_PAYLOAD] == nullptr) {
    accept(id);
    return;
  }
  const auto* p = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
  sink_->on_packet(id, {p, mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])});
}

void PacketQueue::accept(std::uint32_t id) {
  if (outstanding_.erase(id) == 0) return;
  if (verdicts_.size() + 128 > verdict_flush_bytes) (void)flush();
  const std::size_t at = verdicts_.size();
  verdicts_.resize(at + 128);
  nlmsghdr* nlh = nfq_nlmsg_put(verdicts_.data() + at, NFQNL_MSG_VERDICT, config_.number);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
  verdicts_.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
}

Result<void> PacketQueue::flush() {
  if (verdicts_.empty() || !socket_) {
    verdicts_.clear();
    return {};
  }
  auto r = socket_.send(verdicts_.data(), verdicts_.size());
  verdicts_.clear();
  if (!r) return make_error(describe() + " verdicts: " + r.error().message, r.error().code);
  return {};
}

}  // namespace ctsync

#include "kernel/conntrack_writer.hpp"
#include "kernel/netlink_attributes.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ctsync {

namespace {

constexpr std::uint16_t msg_type(std::uint8_t ct_msg) {
  return static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | ct_msg);
}

nlmsghdr* put_header(char* at, std::uint16_t type, std::uint16_t flags, std::uint32_t seq,
                     std::uint8_t family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(at);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

}  // namespace

Result<ConntrackWriter> ConntrackWriter::open(WriterConfig config) {
  auto s = NetlinkSocket::open(0, "writer");
  if (!s) return s.error();
  // Error replies only (no acks), and without a copy of the request: small and few.
  if (auto r = s->set_option(SOL_NETLINK, NETLINK_CAP_ACK, 1, "CAP_ACK"); !r) return r.error();
  if (auto r = s->set_receive_buffer(16 << 20); !r) return r.error();
  if (auto r = s->set_send_buffer(static_cast<int>(config.batch_bytes * 4)); !r) return r.error();
  return ConntrackWriter(std::move(*s), config);
}

Result<void> ConntrackWriter::run(std::span<const Request> requests, std::vector<int>& errors,
                                  std::vector<std::optional<Flow>>* found) {
  errors.assign(requests.size(), 0);
  if (found) found->assign(requests.size(), std::nullopt);
  const std::size_t room = config_.batch_bytes + MNL_SOCKET_BUFFER_SIZE * 2;
  if (buffer_.size() < room) buffer_.resize(room);
  std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE * 16);

  std::size_t next = 0;
  while (next < requests.size()) {
    const std::size_t first = next;
    const std::uint32_t base_seq = next_seq_;
    std::size_t used = 0;
    while (next < requests.size() && next - first < config_.batch_messages &&
           used < config_.batch_bytes) {
      const Request& r = requests[next];
      nlmsghdr* nlh = put_header(buffer_.data() + used, r.type, r.flags,
                                 base_seq + static_cast<std::uint32_t>(next - first),
                                 static_cast<std::uint8_t>(r.flow->family()));
      encode_conntrack(nlh, *r.flow, r.kind, config_.options);
      used += NLMSG_ALIGN(nlh->nlmsg_len);
      ++next;
    }
    next_seq_ += static_cast<std::uint32_t>(next - first);
    if (auto s = socket_.send(buffer_.data(), used); !s) return s.error();

    // Every reply is queued by now: the kernel processed the batch inside sendto.
    for (;;) {
      auto n = socket_.receive(reply.data(), reply.size(), false);
      if (!n) {
        if (n.error().code == ENOBUFS) {
          return make_error(
              "ctnetlink writer: error replies overflowed the receive buffer; "
              "results of this batch are unknown",
              ENOBUFS);
        }
        return n.error();
      }
      if (*n == 0) break;
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(reply.data());
      int len = static_cast<int>(*n);
      for (; netlink::message_fits(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        const std::uint32_t idx = nlh->nlmsg_seq - base_seq;
        if (idx >= next - first) continue;  // not ours: a late reply to an earlier batch
        if (nlh->nlmsg_type == NLMSG_ERROR) {
          const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
          errors[first + idx] = -e->error;
        } else if (found && (nlh->nlmsg_type & 0xff) == IPCTNL_MSG_CT_NEW) {
          Flow f;
          FlowCounters unused;
          if (decode_conntrack(nlh, f, unused)) (*found)[first + idx] = f;
        }
      }
    }
  }
  return {};
}

Result<void> ConntrackWriter::apply(std::span<const Op> ops, std::vector<int>& errors) {
  std::vector<Request> reqs;
  reqs.reserve(ops.size());
  for (const Op& op : ops) {
    switch (op.kind) {
      case WriteKind::create:
        reqs.push_back({msg_type(IPCTNL_MSG_CT_NEW), NLM_F_CREATE | NLM_F_EXCL, op.kind, op.flow});
        break;
      case WriteKind::update:
        reqs.push_back({msg_type(IPCTNL_MSG_CT_NEW), 0, op.kind, op.flow});
        break;
      case WriteKind::remove:
        reqs.push_back({msg_type(IPCTNL_MSG_CT_DELETE), 0, op.kind, op.flow});
        break;
    }
  }
  return run(reqs, errors, nullptr);
}

Result<void> ConntrackWriter::upsert(std::span<const Flow> flows,
                                     std::vector<WriteResult>& results) {
  results.assign(flows.size(), WriteResult{});
  std::vector<Op> ops;
  ops.reserve(flows.size());
  for (const Flow& f : flows) ops.push_back({WriteKind::create, &f});
  std::vector<int> errors;
  if (auto r = apply(ops, errors); !r) return r;

  std::vector<std::size_t> existing;
  for (std::size_t i = 0; i < flows.size(); ++i) {
    if (errors[i] == 0) {
      results[i].outcome = WriteOutcome::created;
    } else if (errors[i] == EEXIST) {
      existing.push_back(i);
    } else {
      results[i] = {WriteOutcome::failed, errors[i]};
    }
  }
  if (existing.empty()) return {};

  // An entry exists under our original tuple, or under our reply tuple (a packet from the
  // other side got there first). Look at what the kernel holds.
  std::vector<Request> gets;
  for (std::size_t i : existing)
    gets.push_back({msg_type(IPCTNL_MSG_CT_GET), 0, WriteKind::remove, &flows[i]});
  std::vector<std::optional<Flow>> found;
  if (auto r = run(gets, errors, &found); !r) return r;

  std::vector<Op> updates, removals, creates;
  std::vector<std::size_t> update_idx, replace_idx;
  std::vector<Flow> reply_keyed;  // removal requests addressed by our reply tuple
  reply_keyed.reserve(existing.size());
  for (std::size_t k = 0; k < existing.size(); ++k) {
    const std::size_t i = existing[k];
    const Flow& want = flows[i];
    if (found[k] && found[k]->reply == want.reply) {
      updates.push_back({WriteKind::update, &want});
      update_idx.push_back(i);
      continue;
    }
    if (found[k]) removals.push_back({WriteKind::remove, &want});
    Flow by_reply;
    by_reply.key.zone = want.key.zone;
    by_reply.key.original = want.reply;
    reply_keyed.push_back(by_reply);
    replace_idx.push_back(i);
  }
  for (const Flow& f : reply_keyed) removals.push_back({WriteKind::remove, &f});
  for (std::size_t i : replace_idx) creates.push_back({WriteKind::create, &flows[i]});

  if (auto r = apply(updates, errors); !r) return r;
  for (std::size_t k = 0; k < update_idx.size(); ++k) {
    results[update_idx[k]] = errors[k] == 0 ? WriteResult{WriteOutcome::updated, 0}
                                            : WriteResult{WriteOutcome::failed, errors[k]};
  }
  if (auto r = apply(removals, errors); !r) return r;  // ENOENT is fine: already gone
  if (auto r = apply(creates, errors); !r) return r;
  for (std::size_t k = 0; k < replace_idx.size(); ++k) {
    results[replace_idx[k]] = errors[k] == 0 ? WriteResult{WriteOutcome::replaced, 0}
                                             : WriteResult{WriteOutcome::failed, errors[k]};
  }
  return {};
}

Result<void> ConntrackWriter::remove(std::span<const FlowKey> keys, std::vector<int>& errors) {
  std::vector<Flow> flows(keys.size());
  std::vector<Op> ops;
  ops.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    flows[i].key = keys[i];
    flows[i].reply = invert(keys[i].original);
    ops.push_back({WriteKind::remove, &flows[i]});
  }
  if (auto r = apply(ops, errors); !r) return r;
  for (int& e : errors) {
    if (e == ENOENT) e = 0;
  }
  return {};
}

Result<std::optional<Flow>> ConntrackWriter::get(const FlowKey& key) {
  Flow probe;
  probe.key = key;
  probe.reply = invert(key.original);
  const Request req{msg_type(IPCTNL_MSG_CT_GET), 0, WriteKind::remove, &probe};
  std::vector<int> errors;
  std::vector<std::optional<Flow>> found;
  if (auto r = run(std::span(&req, 1), errors, &found); !r) return r.error();
  if (errors[0] != 0 && errors[0] != ENOENT) {
    return make_error("ctnetlink get: " + std::string(std::strerror(errors[0])), errors[0]);
  }
  return found[0];
}

Result<void> ConntrackWriter::flush(std::optional<MarkFilter> filter) {
  std::vector<char> req(MNL_SOCKET_BUFFER_SIZE), buf(MNL_SOCKET_BUFFER_SIZE);
  const std::uint32_t seq = next_seq_++;
  nlmsghdr* nlh = put_header(req.data(), msg_type(IPCTNL_MSG_CT_DELETE), NLM_F_ACK, seq, AF_UNSPEC);
  if (filter) {
    mnl_attr_put_u32(nlh, CTA_MARK, htonl(filter->mark & filter->mask));
    mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(filter->mask));
  }
  return socket_.request(nlh, buf, "flush");
}

}  // namespace ctsync

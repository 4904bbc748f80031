#pragma once
// Reading netlink attributes without libmnl's per-attribute callbacks. Shared by the
// conntrack and expectation codecs; only daemon/kernel/ includes it.
#include <arpa/inet.h>
#include <endian.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ctsync::netlink {

// Whether a whole message of the receive buffer's `len` remaining bytes starts at `nlh`.
// libmnl's mnl_nlmsg_ok compares the length as a signed int: a length of 2^31 or more passed
// and the walk left the buffer (found by fuzz_netlink_messages). The kernel never sends one;
// the check holds anyway.
inline bool message_fits(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= static_cast<unsigned>(len);
}

inline const void* payload(const nlattr* a) {
  return reinterpret_cast<const unsigned char*>(a) + NLA_HDRLEN;
}
inline std::size_t payload_len(const nlattr* a) {
  return a->nla_len - NLA_HDRLEN;
}

// Collects the attributes of one nest level into a table indexed by type. The walk is
// libmnl's (stop at the first attribute whose length does not fit), written out here because
// it runs for every attribute of every event: through libmnl's callback it cost a tenth of
// the daemon's time in an event storm.
template <std::size_t N>
struct AttrTable {
  const nlattr* at[N + 1] = {};
  void parse(const void* data, std::size_t len) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (len >= NLA_HDRLEN) {
      const auto* a = reinterpret_cast<const nlattr*>(p);
      if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return;
      const unsigned type = a->nla_type & NLA_TYPE_MASK;
      if (type <= N) at[type] = a;
      const std::size_t step = NLA_ALIGN(a->nla_len);
      if (step >= len) return;
      p += step;
      len -= step;
    }
  }
  bool parse_nested(const nlattr* nest) {
    parse(payload(nest), payload_len(nest));
    return true;
  }
  const nlattr* operator[](std::size_t i) const { return at[i]; }
};

inline bool has_len(const nlattr* a, std::size_t n) {
  return a && payload_len(a) >= n;
}
template <typename T>
inline T load(const nlattr* a) {
  T v;
  std::memcpy(&v, payload(a), sizeof v);
  return v;
}
inline std::uint8_t u8(const nlattr* a) {
  return has_len(a, 1) ? load<std::uint8_t>(a) : 0;
}
inline std::uint16_t be16(const nlattr* a) {
  return has_len(a, 2) ? ntohs(load<std::uint16_t>(a)) : 0;
}
inline std::uint32_t be32(const nlattr* a) {
  return has_len(a, 4) ? ntohl(load<std::uint32_t>(a)) : 0;
}
inline std::uint64_t be64(const nlattr* a) {
  return has_len(a, 8) ? be64toh(load<std::uint64_t>(a)) : 0;
}

}  // namespace ctsync::netlink

#pragma once
#include <cstdint>
#include <string>

#include "ctsync/flow_key.hpp"
#include "ctsync/tuple.hpp"

namespace ctsync {

// Expectation flags, numbered as the kernel's NF_CT_EXPECT_* values.
namespace expect_flag {
inline constexpr std::uint32_t permanent = 1u << 0;
inline constexpr std::uint32_t inactive = 1u << 1;
inline constexpr std::uint32_t userspace = 1u << 2;
}  // namespace expect_flag

// What identifies an expectation in the kernel: its zone and the expected tuple.
struct ExpectationKey {
  std::uint16_t zone = 0;
  Tuple expected;
  friend bool operator==(const ExpectationKey&, const ExpectationKey&) = default;
};

struct ExpectationKeyHash {
  std::size_t operator()(const ExpectationKey& k) const;
};

// A connection that a master connection's helper announced (an FTP data channel, SIP
// media, a TFTP transfer), which the kernel will let in as RELATED. Few exist at a time and
// they live seconds to minutes, so this is a plain value with strings.
struct Expectation {
  std::uint16_t zone = 0;
  FlowKey master;             // the master connection: zone and original tuple
  Tuple expected;             // family and protocol included (SIP media is UDP under a TCP master)
  Tuple mask;                 // which bits of `expected` must match: addresses and ports
  std::uint32_t timeout = 0;  // seconds left when captured
  std::uint32_t flags = 0;    // expect_flag:: bits
  std::uint32_t klass = 0;    // the helper's expectation class
  std::string helper;         // the helper that created it ("ftp")
  std::string function;       // what runs when it is met ("nat-follow-master"), if any
  // NAT for the expected connection (nf_nat_ftp and friends): the direction and the address
  // and port it is translated back to.
  bool has_nat = false;
  std::uint32_t nat_dir = 0;
  Tuple nat;

  ExpectationKey key() const { return {zone, expected}; }
  friend bool operator==(const Expectation&, const Expectation&) = default;
};

// One line in the style of `conntrack -L expect`, e.g.
// "297 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=40000 mask-src=255.255.255.255 ...".
std::string to_conntrack_string(const Expectation& e);

}  // namespace ctsync

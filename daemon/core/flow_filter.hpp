#pragma once
#include <bitset>
#include <cstdint>
#include <vector>

#include "ctsync/flow.hpp"
#include "ctsync/ip_address.hpp"

namespace ctsync {

struct MarkMatch {
  std::uint32_t value = 0;
  std::uint32_t mask = 0xffffffff;
  friend bool operator==(const MarkMatch&, const MarkMatch&) = default;
};

// Which addresses of a flow the address lists look at.
enum class AddressMatch : std::uint8_t {
  original,  // the original direction's source or destination (ctsyncd's default)
  sources,   // the original or the reply direction's source (conntrackd's Address filters)
};

// What an operator asked to replicate, and not to. The accept lists, when not empty, keep
// out every flow they do not match; the ignore lists then keep out what they match.
struct FilterRules {
  std::vector<std::uint8_t> accept_protocols;  // empty: every protocol
  std::vector<Cidr> accept_addresses;          // empty: every address
  AddressMatch address_match = AddressMatch::original;
  std::vector<std::uint8_t> ignore_protocols;
  std::vector<Cidr> ignore_addresses;
  std::vector<std::uint8_t> ignore_tcp_states;  // TcpState values
  std::vector<std::uint16_t> ignore_zones;
  std::vector<MarkMatch> ignore_marks;
  bool ignore_loopback = true;
  bool ignore_own_addresses = true;
  // Addresses that move between the nodes (keepalived's): never treated as the node's own,
  // so flows to services on them are replicated.
  std::vector<Cidr> virtual_addresses;
  friend bool operator==(const FilterRules&, const FilterRules&) = default;
};

// Decides which kernel flows stay out of the internal cache. By default addresses are matched
// on the original tuple only: a masqueraded flow's reply goes to one of our addresses, and it
// is exactly the kind of flow a failover must keep. With AddressMatch::sources the lists see
// both directions' sources, as conntrackd's do (so that an imported conntrackd.conf keeps its
// meaning); loopback and the node's own addresses are always matched on the original tuple.
class FlowFilter {
 public:
  FlowFilter() = default;
  // own_addresses: the node's interface addresses (used when rules.ignore_own_addresses).
  FlowFilter(const FilterRules& rules, const std::vector<FamilyAddress>& own_addresses);

  bool ignored(const Flow& flow) const;

 private:
  bool address_ignored(Family f, const IpAddress& a) const;
  bool in_list(const std::vector<Cidr>& list, const Flow& flow) const;

  std::bitset<256> accepted_protocols_;  // none set: every protocol
  std::vector<Cidr> accepted_cidrs_;
  AddressMatch match_ = AddressMatch::original;
  std::bitset<256> protocols_;
  std::bitset<16> tcp_states_;
  std::vector<Cidr> cidrs_;
  std::vector<std::uint16_t> zones_;
  std::vector<MarkMatch> marks_;
  std::vector<FamilyAddress> own_;
  bool loopback_ = false;
};

}  // namespace ctsync

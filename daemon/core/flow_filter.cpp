#include "core/flow_filter.hpp"

#include <algorithm>

namespace ctsync {

FlowFilter::FlowFilter(const FilterRules& rules, const std::vector<FamilyAddress>& own_addresses)
    : accepted_cidrs_(rules.accept_addresses),
      match_(rules.address_match),
      cidrs_(rules.ignore_addresses),
      zones_(rules.ignore_zones),
      marks_(rules.ignore_marks),
      loopback_(rules.ignore_loopback) {
  for (auto p : rules.accept_protocols) accepted_protocols_.set(p);
  for (auto p : rules.ignore_protocols) protocols_.set(p);
  for (auto s : rules.ignore_tcp_states) {
    if (s < tcp_states_.size()) tcp_states_.set(s);
  }
  if (rules.ignore_own_addresses) {
    for (const auto& a : own_addresses) {
      const bool virtual_address =
          std::any_of(rules.virtual_addresses.begin(), rules.virtual_addresses.end(),
                      [&](const Cidr& c) { return c.contains(a.family, a.address); });
      if (!virtual_address) own_.push_back(a);
    }
  }
}

bool FlowFilter::address_ignored(Family f, const IpAddress& a) const {
  if (loopback_) {
    if (f == Family::ipv4 && a.bytes[0] == 127) return true;
    if (f == Family::ipv6 && a == IpAddress{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}})
      return true;
  }
  for (const auto& o : own_) {
    if (o.family == f && o.address == a) return true;
  }
  return false;
}

bool FlowFilter::in_list(const std::vector<Cidr>& list, const Flow& flow) const {
  const Tuple& o = flow.original();
  const IpAddress& second = match_ == AddressMatch::sources ? flow.reply.src : o.dst;
  for (const auto& c : list) {
    if (c.contains(o.family, o.src) || c.contains(o.family, second)) return true;
  }
  return false;
}

bool FlowFilter::ignored(const Flow& flow) const {
  const Tuple& o = flow.original();
  if (accepted_protocols_.any() && !accepted_protocols_.test(o.protocol)) return true;
  if (!accepted_cidrs_.empty() && !in_list(accepted_cidrs_, flow)) return true;
  if (protocols_.test(o.protocol)) return true;
  if (o.protocol == proto::tcp && tcp_states_.test(static_cast<std::size_t>(flow.tcp.state)))
    return true;
  if (std::find(zones_.begin(), zones_.end(), flow.key.zone) != zones_.end()) return true;
  for (const auto& m : marks_) {
    if ((flow.mark & m.mask) == m.value) return true;
  }
  return in_list(cidrs_, flow) || address_ignored(o.family, o.src) ||
         address_ignored(o.family, o.dst);
}

}  // namespace ctsync

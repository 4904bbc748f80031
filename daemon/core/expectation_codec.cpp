#include "core/expectation_codec.hpp"

#include "core/flow_codec.hpp"

namespace ctsync {

namespace {
// The kernel's limits: helper names fit 16 bytes with the terminator; expectation function
// names are short fixed strings ("nat-follow-master").
constexpr std::size_t max_helper = 15;
constexpr std::size_t max_function = 63;
constexpr std::uint32_t known_flags =
    expect_flag::permanent | expect_flag::inactive | expect_flag::userspace;
}  // namespace

void encode_expectation_key(const ExpectationKey& key, v1::ExpectationKey* out) {
  if (key.zone != 0) out->set_zone(key.zone);
  if (key.expected.family == Family::ipv6) out->set_ipv6(true);
  out->set_protocol(key.expected.protocol);
  encode_tuple(key.expected, out->mutable_expected());
}

void encode_expectation(const Expectation& e, v1::ExpectationState* out) {
  encode_expectation_key(e.key(), out->mutable_key());
  encode_key(e.master, out->mutable_master());
  encode_tuple(e.mask, out->mutable_mask());
  out->set_timeout(e.timeout);
  out->set_flags(e.flags);
  out->set_class_(e.klass);
  out->set_helper(e.helper);
  out->set_function(e.function);
  if (e.has_nat) {
    out->set_has_nat(true);
    out->set_nat_dir(e.nat_dir);
    encode_tuple(e.nat, out->mutable_nat_tuple());
  }
}

Result<ExpectationKey> decode_expectation_key(const v1::ExpectationKey& in) {
  if (in.protocol() > 255) {
    return make_error("expectation: protocol " + std::to_string(in.protocol()) + " out of range");
  }
  if (in.zone() > 0xffff) {
    return make_error("expectation: zone " + std::to_string(in.zone()) + " out of range");
  }
  const Family family = in.ipv6() ? Family::ipv6 : Family::ipv4;
  auto expected = decode_tuple(in.expected(), family, static_cast<std::uint8_t>(in.protocol()),
                               "expected tuple");
  if (!expected) return expected.error();
  return ExpectationKey{static_cast<std::uint16_t>(in.zone()), *expected};
}

Result<Expectation> decode_expectation(const v1::ExpectationState& in) {
  auto key = decode_expectation_key(in.key());
  if (!key) return key.error();
  auto master = decode_key(in.master());
  if (!master) return master.error();
  const Family family = key->expected.family;
  if (master->original.family != family) {
    return make_error("expectation: master and expected tuple of different families");
  }
  Expectation e;
  e.zone = key->zone;
  e.expected = key->expected;
  e.master = *master;
  auto mask = decode_tuple(in.mask(), family, e.expected.protocol, "expectation mask");
  if (!mask) return mask.error();
  e.mask = *mask;
  e.timeout = in.timeout();
  if ((in.flags() & ~known_flags) != 0) {
    return make_error("expectation: unknown flags " + std::to_string(in.flags()));
  }
  e.flags = in.flags();
  e.klass = in.class_();
  if (in.helper().size() > max_helper || in.function().size() > max_function) {
    return make_error("expectation: helper or function name too long");
  }
  e.helper = in.helper();
  e.function = in.function();
  if (in.has_nat()) {
    if (in.nat_dir() > 1) {
      return make_error("expectation: NAT direction " + std::to_string(in.nat_dir()));
    }
    auto nat = decode_tuple(in.nat_tuple(), family, master->original.protocol, "expectation NAT");
    if (!nat) return nat.error();
    e.has_nat = true;
    e.nat_dir = in.nat_dir();
    e.nat = *nat;
  }
  return e;
}

}  // namespace ctsync

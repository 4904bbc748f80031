#include "ctsync/packed_flows.hpp"

#include <cstring>

namespace ctsync {

namespace {

std::uint32_t v4_of(const IpAddress& a) {
  std::uint32_t v;
  std::memcpy(&v, a.bytes.data(), 4);
  return v;
}

IpAddress address_of(std::uint32_t v) {
  IpAddress a;
  std::memcpy(a.bytes.data(), &v, 4);
  return a;
}

void pack_ports(const Tuple& t, std::uint16_t& first, std::uint16_t& second) {
  if (protocol_is_icmp(t.protocol)) {
    first = t.icmp_id;
    second = static_cast<std::uint16_t>(t.icmp_type << 8 | t.icmp_code);
  } else {
    first = t.src_port;
    second = t.dst_port;
  }
}

void unpack_ports(Tuple& t, std::uint16_t first, std::uint16_t second) {
  if (protocol_is_icmp(t.protocol)) {
    t.icmp_id = first;
    t.icmp_type = static_cast<std::uint8_t>(second >> 8);
    t.icmp_code = static_cast<std::uint8_t>(second);
  } else {
    t.src_port = first;
    t.dst_port = second;
  }
}

// A tuple of the record's family and protocol; `ports` is 0 for the original's pair, 2 for
// the stored reply's.
Tuple tuple_of(const PackedFlows::Record& r, const IpAddress& src, const IpAddress& dst,
               int ports) {
  Tuple t;
  t.family = (r.form & PackedFlows::wide) ? Family::ipv6 : Family::ipv4;
  t.protocol = r.protocol;
  t.src = src;
  t.dst = dst;
  unpack_ports(t, r.ports[ports], r.ports[ports + 1]);
  return t;
}
Tuple original_of(const PackedFlows::Record& r, const IpAddress& src, const IpAddress& dst) {
  return tuple_of(r, src, dst, 0);
}
Tuple stored_reply_of(const PackedFlows::Record& r, const IpAddress& src, const IpAddress& dst) {
  return tuple_of(r, src, dst, 2);
}

bool tail_is_zero(const IpAddress& a) {
  for (std::size_t i = 4; i < a.bytes.size(); ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return true;
}

// True when the record's form for `family` holds the tuple exactly: no byte its protocol
// does not use, the family and protocol of the flow.
bool tuple_fits(const Tuple& t, Family family, std::uint8_t protocol) {
  if (t.family != family || t.protocol != protocol) return false;
  if (protocol_is_icmp(protocol) ? (t.src_port | t.dst_port) != 0
                                 : (t.icmp_id | t.icmp_type | t.icmp_code) != 0)
    return false;
  if (family == Family::ipv4) return tail_is_zero(t.src) && tail_is_zero(t.dst);
  return family == Family::ipv6;
}

// A field added to Flow must be packed into the record or make the flow whole, here and in
// pack/unpack, or tables would lose it.
static_assert(sizeof(Flow) == 168, "a new Flow field: decide where PackedFlows keeps it");

// Whether a record (and its addresses aside) can hold the flow; if not, it is kept whole.
bool fits_a_record(const Flow& f) {
  return f.sctp == SctpInfo{} && f.seq_original.empty() && f.seq_reply.empty() &&
         f.labels.empty() && tuple_fits(f.original(), f.family(), f.protocol()) &&
         tuple_fits(f.reply, f.family(), f.protocol());
}

}  // namespace

PackedFlows::Record PackedFlows::pack(const Flow& f, Addresses& addresses) {
  Record r;
  if (!fits_a_record(f)) {
    r.form = whole;
    return r;
  }
  r.zone = f.key.zone;
  r.protocol = f.protocol();
  const bool wide_form = f.family() == Family::ipv6;
  const bool translated_form = !(f.reply == invert(f.original()));
  r.form = static_cast<std::uint8_t>((wide_form ? wide : 0) | (translated_form ? translated : 0));
  pack_ports(f.original(), r.ports[0], r.ports[1]);
  if (translated_form) pack_ports(f.reply, r.ports[2], r.ports[3]);
  if (wide_form) {
    addresses = Addresses{f.original().src, f.original().dst, {}, {}};
    if (translated_form) {
      addresses.reply_src = f.reply.src;
      addresses.reply_dst = f.reply.dst;
    }
  } else {
    r.src = v4_of(f.original().src);
    r.dst = v4_of(f.original().dst);
    if (translated_form) {
      r.reply_src = v4_of(f.reply.src);
      r.reply_dst = v4_of(f.reply.dst);
    }
  }
  r.status = f.status;
  r.timeout = f.timeout;
  r.mark = f.mark;
  r.tcp = f.tcp;
  r.helper = f.helper;
  r.start_ns = f.start_ns;
  return r;
}

Flow PackedFlows::unpack(const Record& r, const Addresses* a) {
  Flow f;
  f.key.zone = r.zone;
  if (r.form & wide) {
    f.key.original = original_of(r, a->src, a->dst);
    f.reply = (r.form & translated) ? stored_reply_of(r, a->reply_src, a->reply_dst)
                                    : invert(f.key.original);
  } else {
    f.key.original = original_of(r, address_of(r.src), address_of(r.dst));
    f.reply = (r.form & translated)
                  ? stored_reply_of(r, address_of(r.reply_src), address_of(r.reply_dst))
                  : invert(f.key.original);
  }
  f.helper = r.helper;
  f.status = r.status;
  f.timeout = r.timeout;
  f.mark = r.mark;
  f.tcp = r.tcp;
  f.start_ns = r.start_ns;
  return f;
}

PackedFlows::Record PackedFlows::store(const Flow& flow) {
  Addresses addresses;
  Record r = pack(flow, addresses);
  if (r.form == whole) {
    r = Record{};
    r.form = whole;
    r.zone = flow.key.zone;
    r.aside = whole_.add(flow);
  } else if (r.form & wide) {
    r.aside = wide_.add(addresses);
  }
  return r;
}

void PackedFlows::release(const Record& r) {
  if (r.form == whole) {
    whole_.release(r.aside);
  } else if (r.form & wide) {
    wide_.release(r.aside);
  }
}

Flow PackedFlows::flow(std::size_t pos) const {
  const Record& r = records_[pos];
  if (r.form == whole) return whole_[r.aside];
  return unpack(r, (r.form & wide) ? &wide_[r.aside] : nullptr);
}

FlowKey PackedFlows::key(std::size_t pos) const {
  const Record& r = records_[pos];
  if (r.form == whole) return whole_[r.aside].key;
  if (r.form & wide) {
    const Addresses& a = wide_[r.aside];
    return FlowKey{r.zone, original_of(r, a.src, a.dst)};
  }
  return FlowKey{r.zone, original_of(r, address_of(r.src), address_of(r.dst))};
}

Tuple PackedFlows::reply(std::size_t pos) const {
  const Record& r = records_[pos];
  if (r.form == whole) return whole_[r.aside].reply;
  if (!(r.form & translated)) return invert(key(pos).original);
  if (r.form & wide) {
    const Addresses& a = wide_[r.aside];
    return stored_reply_of(r, a.reply_src, a.reply_dst);
  }
  return stored_reply_of(r, address_of(r.reply_src), address_of(r.reply_dst));
}

bool PackedFlows::reply_is_inverted(std::size_t pos) const {
  const Record& r = records_[pos];
  if (r.form == whole) {
    const Flow& f = whole_[r.aside];
    return f.reply == invert(f.original());
  }
  return !(r.form & translated);
}

void PackedFlows::push_back(const Flow& flow) {
  records_.push_back(store(flow));
}

void PackedFlows::set(std::size_t pos, const Flow& flow) {
  release(records_[pos]);
  records_[pos] = store(flow);
}

void PackedFlows::remove(std::size_t pos) {
  release(records_[pos]);
  const std::size_t last = records_.size() - 1;
  if (pos != last) records_[pos] = records_[last];
  records_.pop_back();
}

void PackedFlows::clear() {
  records_.clear();
  wide_.clear();
  whole_.clear();
}

std::size_t PackedFlows::memory_bytes() const {
  return records_.capacity() * sizeof(Record) + wide_.memory_bytes() + whole_.memory_bytes();
}

}  // namespace ctsync

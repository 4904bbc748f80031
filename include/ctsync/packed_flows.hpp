#pragma once
#include <cstddef>
#include <cstdint>

#include "ctsync/block_vector.hpp"
#include "ctsync/flow.hpp"
#include "ctsync/slab.hpp"

namespace ctsync {

// The flows of a table, by position, in 64 bytes each where they fit. A Flow is 168 bytes
// because it has room for everything a connection may carry, while nearly every flow of a
// firewall is IPv4 with neither SCTP state, sequence adjustments nor labels, and without NAT
// its reply tuple is its original one inverted. So a flow is stored as a record of what it
// has: IPv4 addresses inline, the reply's addresses and ports only when NAT made them
// differ, an IPv6 flow's addresses aside in a slab of address quadruples, and whatever does
// not fit (SCTP, sequence adjustments, labels, a tuple the record cannot hold exactly) as a
// whole Flow aside. Reading gives back exactly the flow stored.
class PackedFlows {
 public:
  std::size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }

  Flow flow(std::size_t pos) const;
  FlowKey key(std::size_t pos) const;
  Tuple reply(std::size_t pos) const;
  std::uint16_t zone(std::size_t pos) const { return records_[pos].zone; }
  // True when the flow's reply tuple is its original inverted (no NAT changed it).
  bool reply_is_inverted(std::size_t pos) const;

  void push_back(const Flow& flow);
  void set(std::size_t pos, const Flow& flow);
  // Removes the flow at pos by moving the last one into its place.
  void remove(std::size_t pos);
  void clear();
  void reserve(std::size_t n) { records_.reserve(n); }

  // Flows kept with their addresses aside (IPv6), and kept whole aside.
  std::size_t wide_count() const { return wide_.size(); }
  std::size_t whole_count() const { return whole_.size(); }
  std::size_t memory_bytes() const;

  enum Form : std::uint8_t {
    ipv4 = 0,
    translated = 1,  // bit: the reply is stored, not derived
    wide = 2,        // bit: the addresses are in wide_
    whole = 4,       // the flow is in whole_
  };

  // 64 bytes; the original's fields first, as a lookup reads them.
  struct Record {
    std::uint16_t zone = 0;
    std::uint8_t protocol = 0;
    std::uint8_t form = 0;
    std::uint32_t src = 0;  // IPv4, network order, as IpAddress keeps them
    std::uint32_t dst = 0;
    std::uint16_t ports[4] = {};  // original src, dst; reply src, dst (ICMP: id, type << 8 | code)
    std::uint32_t reply_src = 0;
    std::uint32_t reply_dst = 0;
    std::uint32_t aside = 0;  // reference into wide_ or whole_
    std::uint32_t status = 0;
    std::uint32_t timeout = 0;
    std::uint32_t mark = 0;
    TcpInfo tcp;
    HelperName helper;
    std::uint64_t start_ns = 0;
  };

 private:
  struct Addresses {
    IpAddress src, dst, reply_src, reply_dst;
  };

  // The record (and, for a wide one, its addresses) that reads back as `flow`; form `whole`
  // when there is none. (A flow's every field is either in the record or makes it whole:
  // PackedFlows.EveryFlowReadsBackExactlyAsStored checks it for every kind of flow.)
  static Record pack(const Flow& flow, Addresses& addresses);
  static Flow unpack(const Record& r, const Addresses* addresses);
  Record store(const Flow& flow);
  void release(const Record& r);

  BlockVector<Record> records_;
  Slab<Addresses> wide_;
  Slab<Flow> whole_;
};
static_assert(sizeof(PackedFlows::Record) == 64);

}  // namespace ctsync

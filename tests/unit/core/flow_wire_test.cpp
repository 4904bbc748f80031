// The hand-written FlowState reader against the generated parser: whatever bytes come in,
// decode_flow(bytes) gives what parsing with the generated code and decode_flow(message)
// gives, value or error; and what our sender writes takes the fast way.
#include <gtest/gtest.h>

#include <random>

#include "core/flow_codec.hpp"
#include "core/flow_wire.hpp"
#include "core/flow_wire_view.hpp"
#include "core/packet_parts.hpp"
#include "flow_factory.hpp"

namespace ctsync {
namespace {

// A FlowState's bytes as the sender writes them, without the enclosing field's tag.
std::string encoded(const Flow& f) {
  std::string field;
  wire::put_flow(field, 11, f);
  std::size_t at = 1;  // the one-byte tag of field 11
  while (static_cast<unsigned char>(field[at]) & 0x80) ++at;
  return field.substr(at + 1);
}

Result<Flow> by_generated_parser(const std::string& bytes) {
  v1::FlowState m;
  if (!m.ParseFromString(bytes)) return make_error("flow: malformed message");
  return decode_flow(m);
}

std::string differs(const Result<Flow>& a, const Result<Flow>& b) {
  if (a.ok() != b.ok()) return a ? "only the direct read decodes" : "only protobuf decodes";
  if (!a)
    return a.error().message == b.error().message ? ""
                                                  : a.error().message + " vs " + b.error().message;
  if (!(a->key == b->key) || !same_replicated_state(*a, *b) || a->start_ns != b->start_ns)
    return "different flows";
  return "";
}

TEST(FlowWire, WhatTheSenderWritesIsReadDirectlyAndExactly) {
  std::mt19937_64 rng(5);
  for (std::uint32_t i = 1; i <= 20000; ++i) {
    const Flow f = test::random_flow(rng, i);
    const std::string bytes = encoded(f);
    wire::FlowStateView view;
    ASSERT_TRUE(wire::parse(bytes, view)) << "flow " << i << " took the slow way";
    const auto back = decode_flow(std::string_view(bytes));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(differs(back, Result<Flow>(f)), "") << "flow " << i;
    EXPECT_EQ(differs(back, by_generated_parser(bytes)), "") << "flow " << i;
  }
}

TEST(FlowWire, AnyBytesReadAsTheGeneratedParserReadsThem) {
  std::mt19937_64 rng(6);
  std::size_t fast = 0, slow = 0;
  for (std::uint32_t i = 1; i <= 200000; ++i) {
    std::string bytes = encoded(test::random_flow(rng, i));
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 6) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          bytes.erase(at, 1);
          break;
        case 3:
          bytes.insert(at, 1, static_cast<char>(rng()));
          break;
        case 4:
          bytes.resize(at);
          break;
        default:
          bytes += bytes.substr(at, rng() % 8);
          break;  // a field again, or junk
      }
    }
    wire::FlowStateView view;
    (wire::parse(bytes, view) ? fast : slow) += 1;
    ASSERT_EQ(differs(decode_flow(std::string_view(bytes)), by_generated_parser(bytes)), "")
        << "input " << i;
  }
  EXPECT_GT(fast, 1000u);  // both ways were exercised
  EXPECT_GT(slow, 1000u);
}

TEST(FlowWire, NonCanonicalButValidBytesDecodeAlike) {
  std::mt19937_64 rng(7);
  const Flow f = test::random_flow(rng, 9);
  const std::string bytes = encoded(f);
  // An unknown field (a newer sender's), and the key written twice (merged by protobuf).
  std::string with_unknown = bytes + std::string("\xf8\x01\x05", 3);  // field 31, varint 5
  std::string key_twice = bytes;
  key_twice += bytes.substr(0, 2 + static_cast<unsigned char>(bytes[1]));
  for (const auto& b : {with_unknown, key_twice}) {
    wire::FlowStateView view;
    EXPECT_FALSE(wire::parse(b, view));
    EXPECT_EQ(differs(decode_flow(std::string_view(b)), by_generated_parser(b)), "");
  }
}

TEST(PacketParts, FlowMessagesApartEverythingElseForTheGeneratedParser) {
  v1::Packet p;
  p.set_node_id(3);
  p.set_seq(9);
  p.set_stream_seq(4);
  std::mt19937_64 rng(8);
  for (std::uint32_t i = 1; i <= 3; ++i) encode_flow(test::random_flow(rng, i), p.add_upserts());
  encode_key(test::random_flow(rng, 4).key, p.add_deletes());
  p.mutable_heartbeat()->set_last_stream_seq(4);
  const std::string bytes = p.SerializeAsString();
  PacketParts parts;
  ASSERT_TRUE(split_packet(bytes, parts));
  ASSERT_EQ(parts.upserts.size(), 3u);
  ASSERT_EQ(parts.deletes.size(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parts.upserts[i], p.upserts(i).SerializeAsString());
  v1::Packet control;
  ASSERT_TRUE(control.ParseFromString(parts.control));
  EXPECT_EQ(control.node_id(), 3u);
  EXPECT_EQ(control.stream_seq(), 4u);
  EXPECT_EQ(control.heartbeat().last_stream_seq(), 4u);
  EXPECT_EQ(control.upserts_size(), 0);
  EXPECT_FALSE(split_packet(bytes.substr(0, bytes.size() - 1), parts));  // truncated
}

}  // namespace
}  // namespace ctsync

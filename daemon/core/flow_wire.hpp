#pragma once
// Direct protobuf wire encoding of the messages the sender emits most (FlowState, FlowKey)
// and of the stream packet's small fields: byte for byte what proto/ctsync/v1/sync.proto
// defines, without building message objects (no allocation, one pass, exact sizes). Receivers
// parse with the generated code; a unit test holds the two together.
#include <cstdint>
#include <string>

#include "ctsync/flow.hpp"

namespace ctsync::wire {

enum class Type : std::uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

std::size_t varint_size(std::uint64_t v);
void put_varint(std::string& out, std::uint64_t v);
void put_tag(std::string& out, std::uint32_t field, Type type);
void put_varint_field(std::string& out, std::uint32_t field, std::uint64_t v);

// Appends one length-delimited field holding a FlowKey / FlowState; returns the bytes the
// field took.
std::size_t put_key(std::string& out, std::uint32_t field, const FlowKey& key);
std::size_t put_flow(std::string& out, std::uint32_t field, const Flow& flow);

}  // namespace ctsync::wire

#pragma once
// Conversion between the flow model and the wire schema. Decoding validates everything a
// peer could get wrong (address lengths, protocol numbers, field ranges) and returns an error
// naming the field, so a malformed message is dropped and counted, never half-applied.
#include <string>
#include <string_view>

#include "ctsync/flow.hpp"
#include "ctsync/result.hpp"
#include "ctsync/v1/sync.pb.h"

namespace ctsync {

void encode_tuple(const Tuple& tuple, v1::Tuple* out);
// `what` names the tuple in the error ("reply tuple").
Result<Tuple> decode_tuple(const v1::Tuple& in, Family family, std::uint8_t protocol,
                           const char* what);

void encode_key(const FlowKey& key, v1::FlowKey* out);
void encode_flow(const Flow& flow, v1::FlowState* out);

Result<FlowKey> decode_key(const v1::FlowKey& in);
Result<Flow> decode_flow(const v1::FlowState& in);
// From wire bytes, as received: read directly when in the form our sender writes (no
// message objects), by the generated parser otherwise; the same result either way.
Result<FlowKey> decode_key(std::string_view bytes);
Result<Flow> decode_flow(std::string_view bytes);

}  // namespace ctsync

#pragma once
// Conversion between expectations and the wire schema, validating what a peer sends as
// flow_codec does for flows.
#include "ctsync/expectation.hpp"
#include "ctsync/result.hpp"
#include "ctsync/v1/sync.pb.h"

namespace ctsync {

void encode_expectation_key(const ExpectationKey& key, v1::ExpectationKey* out);
void encode_expectation(const Expectation& e, v1::ExpectationState* out);

Result<ExpectationKey> decode_expectation_key(const v1::ExpectationKey& in);
Result<Expectation> decode_expectation(const v1::ExpectationState& in);

}  // namespace ctsync

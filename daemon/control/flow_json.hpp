#pragma once
#include <nlohmann/json.hpp>

#include "ctsync/flow.hpp"

namespace ctsync {

// Every replicated field of a flow as JSON (ctsyncctl flows --json), plus the conntrack-style
// line. Tests compare copies through it.
nlohmann::json flow_to_json(const Flow& flow, const FlowCounters& counters = {});

}  // namespace ctsync

#pragma once
#include <string>

#include "ctsync/flow.hpp"

namespace ctsync {

// One line in the style of `conntrack -L -o extended`, e.g.
// "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=... [ASSURED] mark=0 use=1".
std::string to_conntrack_string(const Flow& flow, const FlowCounters& counters = {});

// Just the protocol-specific part of a tuple: "src=... dst=... sport=... dport=...".
std::string to_string(const Tuple& tuple);

}  // namespace ctsync

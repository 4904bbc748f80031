#pragma once
#include <nlohmann/json.hpp>

#include "ctsync/expectation.hpp"

namespace ctsync {

// Every replicated field of an expectation as JSON (ctsyncctl expectations --json), plus the
// line in `conntrack -L expect` style.
nlohmann::json expectation_to_json(const Expectation& e);

}  // namespace ctsync

#pragma once
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "ctsync/result.hpp"

namespace ctsync {

// Parses and validates a TOML configuration. Every error names the file, the line and column,
// and the key; unknown keys are errors, with a suggestion when one is close to a known key.
Result<Config> parse_config(std::string_view text, const std::string& path);
Result<Config> load_config(const std::string& path);

}  // namespace ctsync

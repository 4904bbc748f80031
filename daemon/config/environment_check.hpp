#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ctsync {

// `ctsyncd --check-config --strict`: what a valid file can still get wrong on this machine.
// Each problem names the key it comes from.
std::vector<std::string> check_environment(const Config& config);

}  // namespace ctsync

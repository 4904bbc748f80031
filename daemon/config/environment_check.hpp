#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"

namespace ctsync {

// `ctsyncd --check-config --strict`: what a valid file can still get wrong on this machine.
// Each problem names the key it comes from.
std::vector<std::string> check_environment(const Config& config);

// What is wrong with the kernel's conntrack event setting in this network namespace, or ""
// when nothing is. With net.netfilter.nf_conntrack_events=0 the kernel sends no events at all,
// and a daemon would see the table only in its dumps.
std::string kernel_events_problem();

}  // namespace ctsync

#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"

namespace ctsync {

// What a SIGHUP does with a freshly read configuration: which changed settings take effect
// now, and which need a restart (their running values are kept). Settings are named as the
// operator writes them in ctsyncd.toml.
struct ReloadPlan {
  Config next;                            // the running configuration with the reloadable changes
  std::vector<std::string> applied;       // changed, and in effect now
  std::vector<std::string> need_restart;  // changed, kept at their running value
  bool keys_changed = false;              // the key ring must be replaced
  bool filter_changed = false;            // the flow filter must be rebuilt
};

ReloadPlan plan_reload(const Config& running, const Config& fresh);

}  // namespace ctsync

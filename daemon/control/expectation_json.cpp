#include "control/expectation_json.hpp"

#include "ctsync/flow_format.hpp"

namespace ctsync {

nlohmann::json expectation_to_json(const Expectation& e) {
  nlohmann::json j;
  j["family"] = std::string(family_name(e.expected.family));
  j["protocol"] = std::string(protocol_name(e.expected.protocol));
  j["zone"] = e.zone;
  j["expected"] = to_string(e.expected);
  j["mask"] = to_string(e.mask);
  j["master"] = to_string(e.master.original);
  j["timeout"] = e.timeout;
  j["flags"] = e.flags;
  j["class"] = e.klass;
  j["helper"] = e.helper;
  if (!e.function.empty()) j["function"] = e.function;
  if (e.has_nat) j["nat"] = {{"dir", e.nat_dir}, {"tuple", to_string(e.nat)}};
  j["line"] = to_conntrack_string(e);
  return j;
}

}  // namespace ctsync

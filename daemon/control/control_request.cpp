#include "control/control_request.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace ctsync {

namespace {
constexpr std::array<std::pair<ControlCommand, std::string_view>, 12> commands{{
    {ControlCommand::status, "status"},
    {ControlCommand::stats, "stats"},
    {ControlCommand::flows, "flows"},
    {ControlCommand::expectations, "expectations"},
    {ControlCommand::promote, "promote"},
    {ControlCommand::demote, "demote"},
    {ControlCommand::fault, "fault"},
    {ControlCommand::commit, "commit"},
    {ControlCommand::flush, "flush"},
    {ControlCommand::resync, "resync"},
    {ControlCommand::bulk, "bulk"},
    {ControlCommand::ready, "ready"},
}};
}  // namespace

std::string_view control_command_name(ControlCommand c) {
  for (const auto& [cmd, name] : commands) {
    if (cmd == c) return name;
  }
  return "unknown";
}

Result<ControlRequest> parse_control_request(std::string_view line) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("request is not valid JSON");
  if (!j.is_object()) return make_error("request must be a JSON object");
  ControlRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "command") {
      if (!value.is_string()) return make_error("\"command\" must be a string");
      const auto& s = value.get_ref<const std::string&>();
      bool found = false;
      for (const auto& [cmd, name] : commands) {
        if (name == s) {
          r.command = cmd;
          found = true;
        }
      }
      if (!found) return make_error("unknown command \"" + s + "\"");
    } else if (key == "table") {
      if (!value.is_string()) return make_error("\"table\" must be a string");
      const auto& s = value.get_ref<const std::string&>();
      if (s == "internal")
        r.table = FlowTableChoice::internal;
      else if (s == "external")
        r.table = FlowTableChoice::external;
      else
        return make_error("\"table\" must be \"internal\" or \"external\"");
    } else if (key == "json") {
      if (!value.is_boolean()) return make_error("\"json\" must be true or false");
      r.json = value.get<bool>();
    } else if (key == "limit") {
      if (!value.is_number_unsigned())
        return make_error("\"limit\" must be a non-negative integer");
      r.limit = value.get<std::size_t>();
    } else {
      return make_error("unknown field \"" + key + "\"");
    }
  }
  if (!j.contains("command")) return make_error("request has no \"command\"");
  return r;
}

std::string format_control_request(const ControlRequest& r) {
  nlohmann::json j;
  j["command"] = std::string(control_command_name(r.command));
  if (r.command == ControlCommand::flows || r.command == ControlCommand::expectations ||
      r.command == ControlCommand::flush) {
    j["table"] = r.table == FlowTableChoice::external ? "external" : "internal";
  }
  if (r.json) j["json"] = true;
  if (r.limit) j["limit"] = *r.limit;
  return j.dump();
}

}  // namespace ctsync

#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ctsync/result.hpp"

namespace ctsync {

enum class ControlCommand {
  status,
  stats,
  flows,
  expectations,
  promote,
  demote,
  fault,
  commit,
  flush,
  resync,
  bulk,
  ready,
};

enum class FlowTableChoice { internal, external };

// One request on the control socket: a single line of JSON such as
//   {"command":"flows","table":"external","json":true,"limit":100}
struct ControlRequest {
  ControlCommand command = ControlCommand::status;
  FlowTableChoice table = FlowTableChoice::internal;
  bool json = false;
  std::optional<std::size_t> limit;
};

// Parses a request; the error says what is wrong with it, for the reply.
Result<ControlRequest> parse_control_request(std::string_view line);
std::string format_control_request(const ControlRequest& r);
std::string_view control_command_name(ControlCommand c);

}  // namespace ctsync

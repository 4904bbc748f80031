#pragma once
#include <functional>
#include <string>

namespace ctsync {

// A control command's answer: a JSON header line ({"ok":...,"error":...}) and a body that
// ctsyncctl prints as it is.
struct ControlReply {
  ControlReply() = default;
  ControlReply(bool ok_, std::string error_, std::string body_)
      : ok(ok_), error(std::move(error_)), body(std::move(body_)) {}

  bool ok = true;
  std::string error;  // why not ok
  std::string body;
  // A long body (a flow listing) comes in parts: called after each part is written, it
  // appends the next one and returns false after the last.
  std::function<bool(std::string&)> more;
};
// Handlers may answer later (a commit answers when it is done).
using Respond = std::function<void(ControlReply)>;

}  // namespace ctsync

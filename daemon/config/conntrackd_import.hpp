#pragma once
// `ctsyncctl import-conntrackd`: a conntrackd.conf translated into a commented ctsyncd.toml.
// Every setting with a counterpart is translated, with the conntrackd line it came from;
// every other one is listed in a closing comment that says why it has none. Filters keep
// their meaning: conntrackd's Accept lists become ctsyncd's accept lists, and its address
// lists match both directions' sources (`filter.address_match = "sources"`).
#include <string>
#include <string_view>

#include "ctsync/result.hpp"

namespace ctsync {

// `text` is the file's contents, `path` its name for messages and comments. Errors name
// `path:line` (or `path` alone for a file with no Sync section).
Result<std::string> import_conntrackd(std::string_view text, const std::string& path);

}  // namespace ctsync

#pragma once
// conntrackd.conf as a tree, read the way conntrackd reads it: `#` comments to the end of the
// line, words separated by blanks, `"quoted values"`, and blocks `Name [words] { ... }` that
// may open and close on one line (`UNIX { Path /run/x.ctl }`). A statement ends at the end
// of its line, at `{` (then it names a block) or at `}`. No I/O: the caller reads the file.
#include <string>
#include <string_view>
#include <vector>

#include "ctsync/result.hpp"

namespace ctsync::conntrackd {

struct Node {
  std::vector<std::string> words;  // the keyword, then its values (block: its name words)
  int line = 0;                    // 1-based, where the statement or block starts
  bool block = false;
  std::vector<Node> children;
};

// Errors name `path:line`: an unterminated quote, a `}` with no block open, a block still
// open at the end of the file, a `{` with no name before it.
Result<std::vector<Node>> parse(std::string_view text, const std::string& path);

}  // namespace ctsync::conntrackd

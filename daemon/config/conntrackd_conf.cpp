#include "config/conntrackd_conf.hpp"

namespace ctsync::conntrackd {

namespace {

struct Token {
  enum Kind { word, open, close, end_of_line } kind;
  std::string text;
  int line;
};

Result<std::vector<Token>> tokenize(std::string_view text, const std::string& path) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      out.push_back({Token::end_of_line, {}, line++});
      ++i;
    } else if (is_blank(c)) {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '{') {
      out.push_back({Token::open, "{", line});
      ++i;
    } else if (c == '}') {
      out.push_back({Token::close, "}", line});
      ++i;
    } else if (c == '"') {
      const std::size_t close = text.find('"', i + 1);
      const std::size_t eol = text.find('\n', i + 1);
      if (close == std::string_view::npos || (eol != std::string_view::npos && eol < close)) {
        return make_error(path + ":" + std::to_string(line) + ": quoted value not closed");
      }
      out.push_back({Token::word, std::string(text.substr(i + 1, close - i - 1)), line});
      i = close + 1;
    } else {
      const std::size_t start = i;
      while (i < text.size() && !is_blank(text[i]) && text[i] != '\n' && text[i] != '{' &&
             text[i] != '}' && text[i] != '#' && text[i] != '"') {
        ++i;
      }
      out.push_back({Token::word, std::string(text.substr(start, i - start)), line});
    }
  }
  out.push_back({Token::end_of_line, {}, line});
  return out;
}

}  // namespace

Result<std::vector<Node>> parse(std::string_view text, const std::string& path) {
  auto tokens = tokenize(text, path);
  if (!tokens) return tokens.error();
  // A stack of the blocks being filled; the bottom one is the file itself.
  std::vector<Node> open(1);
  Node statement;
  const auto end_statement = [&] {
    if (!statement.words.empty()) open.back().children.push_back(std::move(statement));
    statement = Node{};
  };
  constexpr std::size_t max_depth = 16;  // conntrackd nests four deep at most
  for (const Token& t : *tokens) {
    switch (t.kind) {
      case Token::word:
        if (statement.words.empty()) statement.line = t.line;
        statement.words.push_back(t.text);
        break;
      case Token::end_of_line:
        end_statement();
        break;
      case Token::open:
        if (statement.words.empty()) {
          return make_error(path + ":" + std::to_string(t.line) + ": '{' with no block name");
        }
        if (open.size() > max_depth) {
          return make_error(path + ":" + std::to_string(t.line) + ": blocks nested too deep");
        }
        statement.block = true;
        open.push_back(std::move(statement));
        statement = Node{};
        break;
      case Token::close:
        end_statement();
        if (open.size() == 1) {
          return make_error(path + ":" + std::to_string(t.line) + ": '}' with no block open");
        }
        Node done = std::move(open.back());
        open.pop_back();
        open.back().children.push_back(std::move(done));
        break;
    }
  }
  if (open.size() > 1) {
    return make_error(path + ":" + std::to_string(open.back().line) + ": block '" +
                      open.back().words.front() + "' is not closed");
  }
  return std::move(open.front().children);
}

}  // namespace ctsync::conntrackd

#include <gtest/gtest.h>

#include "control/control_request.hpp"

namespace ctsync {
namespace {

TEST(ControlRequest, RoundTrip) {
  ControlRequest r;
  r.command = ControlCommand::flows;
  r.table = FlowTableChoice::external;
  r.json = true;
  r.limit = 10;
  auto p = parse_control_request(format_control_request(r));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->command, ControlCommand::flows);
  EXPECT_EQ(p->table, FlowTableChoice::external);
  EXPECT_TRUE(p->json);
  EXPECT_EQ(*p->limit, 10u);
}

TEST(ControlRequest, MalformedRequestsSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {"{}", "has no \"command\""},
      {R"({"command":"explode"})", "unknown command"},
      {R"({"command":7})", "must be a string"},
      {R"({"command":"flows","table":"middle"})", "\"table\""},
      {R"({"command":"flows","limit":-1})", "non-negative"},
      {R"({"command":"status","extra":1})", "unknown field"},
      {"{\"command\":\"status\"", "not valid JSON"},
  };
  for (const auto& [line, expect] : bad) {
    auto p = parse_control_request(line);
    ASSERT_FALSE(p.ok()) << line;
    EXPECT_NE(p.error().message.find(expect), std::string::npos)
        << line << ": " << p.error().message;
  }
}

}  // namespace
}  // namespace ctsync

// A chat request's messages with tool calling: an assistant's tool_calls
// (arguments as a JSON string or, leniently, an object), content null, tool
// results with their tool_call_id; each wrong field a 400 naming it.
#include <gtest/gtest.h>

#include "server/chat_messages.h"
#include "server/errors.h"

namespace nucleus::server {
namespace {

using nlohmann::json;

std::string param_of_error(const json& messages) {
  try {
    parse_messages(messages);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.param();
  }
  ADD_FAILURE() << "no error for " << messages.dump();
  return "";
}

TEST(ChatMessages, ToolCallsAndToolResults) {
  const auto m = parse_messages(json::parse(R"([
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Weather "}, {"type": "text", "text": "in Paris?"}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
      {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": {"tz": "CET"}}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    {"role": "assistant", "content": "18C and sunny.", "reasoning_content": "Read the tool."}])"));
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].role, "developer");  // as sent: the chat formatter decides (DeveloperIsSystemUnlessTheTemplateKnowsIt)
  EXPECT_EQ(m[1].content, "Weather \nin Paris?");  // parts joined by newlines, as vLLM joins them
  EXPECT_TRUE(m[2].content_is_null);
  ASSERT_EQ(m[2].tool_calls.size(), 2u);
  EXPECT_EQ(m[2].tool_calls[0].id, "call_1");
  EXPECT_EQ(m[2].tool_calls[0].name, "get_weather");
  EXPECT_EQ(m[2].tool_calls[0].arguments, R"({"city": "Paris"})");
  EXPECT_EQ(json::parse(m[2].tool_calls[1].arguments), json::parse(R"({"tz": "CET"})"));
  EXPECT_EQ(m[3].role, "tool");
  EXPECT_EQ(m[3].tool_call_id, "call_1");
  EXPECT_EQ(m[4].reasoning_content, "Read the tool.");
}

TEST(ChatMessages, WrongFieldsAreNamed) {
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "robot", "content": "x"}])")), "messages[0].role");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "tool", "content": "x"}])")), "messages[0].tool_call_id");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "user", "content": "x", "tool_calls": []}])")),
            "messages[0].tool_calls");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "assistant", "tool_calls": {}}])")), "messages[0].tool_calls");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "assistant", "tool_calls": [{"id": "a"}]}])")),
            "messages[0].tool_calls[0].function");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}])")),
            "messages[0].tool_calls[0].function.name");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 3}}]}])")),
            "messages[0].tool_calls[0].function.arguments");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "user", "content": "x", "name": 5}])")), "messages[0].name");
  EXPECT_EQ(param_of_error(json::parse(R"([{"role": "user"}])")), "messages[0].content");
}

}  // namespace
}  // namespace nucleus::server

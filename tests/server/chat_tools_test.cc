// Tools on chat: request checks (400 naming the field), the grammar that
// forces a call accepts exactly the calls it should, forced outputs read back,
// and a stream of a choice's output gives the same message as the whole text.
#include <gtest/gtest.h>

#include <random>

#include "sampling/grammar/grammar_state.h"
#include "sampling/grammar/json_schema.h"
#include "server/chat_output.h"
#include "server/chat_tools.h"
#include "server/errors.h"

namespace nucleus::server {
namespace {

using ojson = nlohmann::ordered_json;

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
   "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                  "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"]}}},
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
   "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}])";

ojson body_with(const std::string& extra) {
  return ojson::parse(std::string(R"({"messages": [], "tools": )") + kTools + extra + "}");
}

std::string param_of_error(const ojson& body) {
  try {
    parse_chat_tools(body);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.param();
  }
  ADD_FAILURE() << "no error for " << body.dump();
  return "";
}

TEST(ChatTools, ChoiceDefaultsAndForms) {
  EXPECT_EQ(parse_chat_tools(body_with("")).choice, ToolChoice::kAuto);
  EXPECT_EQ(parse_chat_tools(ojson::parse(R"({"messages": []})")).choice, ToolChoice::kNone);
  EXPECT_EQ(parse_chat_tools(body_with(R"(, "tool_choice": "none")")).choice, ToolChoice::kNone);
  EXPECT_EQ(parse_chat_tools(body_with(R"(, "tool_choice": "required")")).choice, ToolChoice::kRequired);
  const ChatTools named =
      parse_chat_tools(body_with(R"(, "tool_choice": {"type": "function", "function": {"name": "add"}})"));
  EXPECT_EQ(named.choice, ToolChoice::kNamed);
  EXPECT_EQ(named.forced_name, "add");
  EXPECT_FALSE(parse_chat_tools(body_with(R"(, "parallel_tool_calls": false)")).parallel);
  // The client's key order survives (templates print tools with tojson).
  EXPECT_EQ(parse_chat_tools(body_with("")).tools[0]["function"].begin().key(), "name");
}

TEST(ChatTools, BadToolsAndChoicesName400s) {
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tools": {}})")), "tools");
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tools": [{"type": "code"}]})")), "tools[0].type");
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tools": [{"type": "function", "function": {}}]})")),
            "tools[0].function.name");
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tools": [{"type": "function", "function": {"name": "a b"}}]})")),
            "tools[0].function.name");
  EXPECT_EQ(param_of_error(ojson::parse(
                R"({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]})")),
            "tools[0].function.parameters");
  // Arguments are an object: a schema of another top-level type is refused, as OpenAI does.
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tools": [{"type": "function", "function": {"name": "f",
                "parameters": {"type": "array", "items": {"type": "integer"}}}}]})")),
            "tools[0].function.parameters");
  EXPECT_EQ(param_of_error(ojson::parse(
                R"({"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]})")),
            "tools[1].function.name");
  EXPECT_EQ(param_of_error(body_with(R"(, "tool_choice": {"type": "function", "function": {"name": "nope"}})")),
            "tool_choice");
  EXPECT_EQ(param_of_error(body_with(R"(, "tool_choice": "always")")), "tool_choice");
  EXPECT_EQ(param_of_error(ojson::parse(R"({"tool_choice": "required"})")), "tool_choice");
  EXPECT_EQ(param_of_error(body_with(R"(, "parallel_tool_calls": 1)")), "parallel_tool_calls");
}

bool grammar_accepts(const StructuredOutput& out, const std::string& text) {
  grammar::GrammarState s(grammar::compile_json_schema(std::string_view(out.source)));
  return s.accept_bytes(text) && s.can_end();
}

TEST(ChatTools, ForcedGrammarsAcceptValidCallsOnly) {
  ChatTools required = parse_chat_tools(body_with(R"(, "tool_choice": "required")"));
  const StructuredOutput any = forced_call_output(required);
  EXPECT_TRUE(grammar_accepts(any, R"([{"name":"add","parameters":{"a":1,"b":2}}])"));
  EXPECT_TRUE(grammar_accepts(
      any, R"([{"name":"get_weather","parameters":{"city":"Oslo","unit":"c"}},{"name":"add","parameters":{"a":1,"b":2}}])"));
  EXPECT_FALSE(grammar_accepts(any, R"([])"));
  EXPECT_FALSE(grammar_accepts(any, R"([{"name":"sub","parameters":{"a":1,"b":2}}])"));
  EXPECT_FALSE(grammar_accepts(any, R"([{"name":"add","parameters":{"a":"1","b":2}}])"));
  EXPECT_FALSE(grammar_accepts(any, R"([{"name":"get_weather","parameters":{"city":"Oslo","unit":"k"}}])"));
  ChatTools single = parse_chat_tools(body_with(R"(, "tool_choice": "required", "parallel_tool_calls": false)"));
  EXPECT_FALSE(grammar_accepts(forced_call_output(single), R"([{"name":"add","parameters":{"a":1,"b":2}},{"name":"add","parameters":{"a":1,"b":2}}])"));
  ChatTools named = parse_chat_tools(body_with(R"(, "tool_choice": {"type": "function", "function": {"name": "add"}})"));
  EXPECT_TRUE(grammar_accepts(forced_call_output(named), R"({"a":1,"b":-2})"));
  EXPECT_FALSE(grammar_accepts(forced_call_output(named), R"({"a":1})"));
}

TEST(ChatTools, ForcedOutputsReadBack) {
  ChatTools required = parse_chat_tools(body_with(R"(, "tool_choice": "required")"));
  auto calls = read_forced_calls(required, R"([{"name":"add","parameters":{"b":2,"a":1}},{"name":"get_weather","parameters":{"city":"Oslo","unit":"c"}}])", 7);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "add");
  EXPECT_EQ(calls[0].arguments, R"({"b":2,"a":1})");  // the model's key order
  EXPECT_EQ(calls[1].name, "get_weather");
  EXPECT_NE(calls[0].id, calls[1].id);
  EXPECT_EQ(calls[0].id.rfind("call_", 0), 0u);
  // Cut by max_tokens: the calls as far as they came, as a stream would have sent them.
  calls = read_forced_calls(required, R"([{"name":"add","parameters":{"a":1,"b":2}} , {"name":"get_weather","parameters":{"city":"Os)", 7);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].arguments, R"({"a":1,"b":2})");
  EXPECT_EQ(calls[1].arguments, R"({"city":"Os)");
  EXPECT_TRUE(read_forced_calls(required, R"([{"na)", 7).empty());
  const auto scanned = scan_forced_calls(required, R"([{"name":"add","parameters":{"a":"}{\"","b":[2,{}]}}])");
  ASSERT_EQ(scanned.size(), 1u);
  EXPECT_TRUE(scanned[0].complete);
  EXPECT_EQ(scanned[0].arguments, R"({"a":"}{\"","b":[2,{}]})");
  ChatTools named = parse_chat_tools(body_with(R"(, "tool_choice": {"type": "function", "function": {"name": "add"}})"));
  calls = read_forced_calls(named, R"({"a":1,"b":2})", 7);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments, R"({"a":1,"b":2})");
}

// Feeds `text` to a stream in random pieces and checks the assembled message equals the whole parse.
void check_stream_equals_whole(const std::shared_ptr<const ChatOutputPlan>& plan, const std::string& text) {
  const ChatMessageOut whole = parse_chat_output(*plan, text, 3);
  std::mt19937 rng(1);
  for (int round = 0; round < 20; ++round) {
    ChatOutputStream stream(plan, 3);
    std::string reasoning, content;
    std::vector<ToolCall> calls;
    auto take = [&](ChatDelta d) {
      reasoning += d.reasoning;
      content += d.content;
      for (const ToolCallDelta& c : d.tool_calls) {
        if (c.index >= static_cast<int>(calls.size())) calls.resize(static_cast<size_t>(c.index) + 1);
        ToolCall& call = calls[static_cast<size_t>(c.index)];
        if (!c.id.empty()) call.id = c.id, call.name = c.name;
        call.arguments += c.arguments;
      }
    };
    size_t at = 0;
    while (at < text.size()) {
      const size_t n = std::min(text.size() - at, static_cast<size_t>(rng() % 7 + 1));
      take(stream.feed(text.substr(at, n)));
      at += n;
    }
    take(stream.finish());
    EXPECT_EQ(reasoning, whole.reasoning) << text;
    EXPECT_EQ(content, whole.content) << text;
    ASSERT_EQ(calls.size(), whole.tool_calls.size()) << text;
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].id, whole.tool_calls[i].id);
      EXPECT_EQ(calls[i].name, whole.tool_calls[i].name);
      EXPECT_EQ(calls[i].arguments, whole.tool_calls[i].arguments);
    }
    EXPECT_EQ(stream.saw_tool_call(), !whole.tool_calls.empty());
  }
}

TEST(ChatOutput, StreamEqualsWholeForReasoningToolsAndForcedCalls) {
  auto plan = std::make_shared<ChatOutputPlan>();
  plan->split_reasoning = true;
  plan->tools = parse_chat_tools(body_with(""));
  plan->format = ToolCallFormat::kHermes;
  plan->id_seed = 42;
  check_stream_equals_whole(plan, "<think>\nThe user wants weather.\n</think>\n\nLet me check."
                                  "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"c\"}}\n</tool_call>");
  check_stream_equals_whole(plan, "No tools needed: 4.");
  const ChatMessageOut m = parse_chat_output(*plan, "<think>x</think>ok<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}</tool_call>", 0);
  EXPECT_EQ(m.reasoning, "x");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "add");

  auto started = std::make_shared<ChatOutputPlan>();
  started->split_reasoning = true;
  started->started_in_reasoning = true;
  check_stream_equals_whole(started, "still thinking</think>The answer.");
  EXPECT_EQ(parse_chat_output(*started, "still thinking</think>The answer.", 0).reasoning, "still thinking");

  auto required = std::make_shared<ChatOutputPlan>();
  required->tools = parse_chat_tools(body_with(R"(, "tool_choice": "required")"));
  check_stream_equals_whole(required, R"([{"name":"add","parameters":{"a":1,"b":2}},{"name":"get_weather","parameters":{"city":"Oslo","unit":"c"}}])");
  // Cut by max_tokens before a name ends: the grammar's scaffold is neither a call nor content.
  for (const char* cut : {"[\n{", R"([{"name":"ad)"}) {
    check_stream_equals_whole(required, cut);
    const ChatMessageOut m = parse_chat_output(*required, cut, 0);
    EXPECT_TRUE(m.content.empty() && m.tool_calls.empty()) << cut;
  }
  auto named = std::make_shared<ChatOutputPlan>();
  named->tools = parse_chat_tools(body_with(R"(, "tool_choice": {"type": "function", "function": {"name": "add"}})"));
  check_stream_equals_whole(named, R"({"a":1,"b":2})");
  check_stream_equals_whole(named, "");
}

// parallel_tool_calls false with tool_choice auto: the model may still write
// two calls (nothing constrains it); only the first is returned, streamed or not.
TEST(ChatOutput, NoParallelCallsKeepsTheFirstCallOnly) {
  const std::string two = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>\n"
                          "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
  auto parallel = std::make_shared<ChatOutputPlan>();
  parallel->tools = parse_chat_tools(body_with(""));
  parallel->format = ToolCallFormat::kHermes;
  EXPECT_EQ(parse_chat_output(*parallel, two, 0).tool_calls.size(), 2u);
  auto one = std::make_shared<ChatOutputPlan>(*parallel);
  one->tools = parse_chat_tools(body_with(R"(, "parallel_tool_calls": false)"));
  const ChatMessageOut m = parse_chat_output(*one, two, 0);
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "add");
  check_stream_equals_whole(one, two);
}

}  // namespace
}  // namespace nucleus::server

// OpenAI's function calling on /v1/chat/completions: the request's `tools`,
// `tool_choice` and `parallel_tool_calls`, and what they make of a generation.
//
//   none       the model may not call: tools are still shown to the template
//              (OpenAI's meaning), the output is plain content.
//   auto       the template shows the tools; the output is parsed into
//              tool_calls in the template's own format (text/tool_call_parser.h).
//   required   decoding is constrained by the grammar engine to a JSON array of
//   / named    calls, [{"name": ..., "parameters": {...}}] (one call unless
//              parallel_tool_calls), or for a named function to its arguments
//              object alone, each matching the function's JSON Schema, so any
//              model, however small, answers with a valid call.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/structured_output.h"
#include "text/tool_call_id.h"
#include "text/tool_call_parser.h"

namespace nucleus::server {

enum class ToolChoice { kNone, kAuto, kRequired, kNamed };

struct ChatTools {
  nlohmann::ordered_json tools;  // the request's array in the client's key order (null: none given)
  std::vector<std::string> names;
  ToolChoice choice = ToolChoice::kNone;
  std::string forced_name;       // kNamed
  bool parallel = true;          // parallel_tool_calls
  ToolCallIdStyle id_style = ToolCallIdStyle::kOpenAI;  // of the ids given to forced calls

  bool forced() const { return choice == ToolChoice::kRequired || choice == ToolChoice::kNamed; }
};

// Reads tools, tool_choice and parallel_tool_calls from the body (parsed with
// its key order kept). Throws ApiError 400 naming the field.
ChatTools parse_chat_tools(const nlohmann::ordered_json& body);

// The grammar that forces a call (required or named), as a JSON Schema. A
// function whose parameters schema the grammar engine refuses is a 400 naming
// tools[i].function.parameters.
StructuredOutput forced_call_output(const ChatTools& tools);

// A forced output read back as far as it has come, in order: each call whose
// name is complete, with its arguments' text as written so far (`complete`
// once the arguments value has ended). The same reading serves a stream
// (which sends each call's new argument text) and a whole response (a
// generation cut short by max_tokens keeps its calls' partial arguments, as
// they were streamed). Named: the whole text is the arguments.
struct ForcedCall {
  std::string name;
  std::string arguments;
  bool complete = false;
};
std::vector<ForcedCall> scan_forced_calls(const ChatTools& tools, std::string_view text);
std::vector<ToolCall> read_forced_calls(const ChatTools& tools, const std::string& text, uint64_t id_seed);

}  // namespace nucleus::server

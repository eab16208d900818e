// A tool call read from the JSON a model wrote: {"name": ..., "arguments": {...}}.
// The arguments keep the model's own text (trimmed) so a streamed call and a
// whole one carry the same bytes; only their validity is checked here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/tool_call_parser.h"

namespace nucleus::tool_call_json {

struct CallObjectOptions {
  // Bare JSON answers (Llama 3, the generic fallback) count as a call only with
  // an "arguments"/"parameters" member, so {"name": "Ada", "age": 3} stays content.
  bool require_arguments = false;
};

// The call in `object_text` (a JSON object), or nullopt when it is not valid
// JSON, has no non-empty string "name", or has arguments that are not a JSON
// object (or a string holding one). "parameters" is taken for "arguments"; a
// string "id" is kept (Mistral writes its own); a missing or null arguments
// member is "{}". The returned id is empty unless the model gave one.
std::optional<ToolCall> call_from_object(std::string_view object_text, const CallObjectOptions& options = {});

// The calls in a JSON array of call objects (Mistral's list, the generic
// "tool_calls"); nullopt when it is empty or any element is not a call.
std::optional<std::vector<ToolCall>> calls_from_array(std::string_view array_text);

// The arguments text for a raw JSON value, by the rules above; nullopt when
// it is none of them. Used where the name sits outside the JSON (<function=f>{...}).
std::optional<std::string> arguments_from_value(std::string_view raw_value);

// A call whose name comes from markup and whose arguments are `raw_value`.
std::optional<ToolCall> call_from_name_and_arguments(std::string_view name, std::string_view raw_value);

}  // namespace nucleus::tool_call_json

// Server-sent events framing for streamed completions: one "data: <json>\n\n"
// event per chunk, "data: [DONE]\n\n" at the end (OpenAI's protocol).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nucleus::server {

// "data: " + compact JSON + "\n\n". JSON escapes newlines, so an event is always one line.
std::string sse_event(const nlohmann::ordered_json& payload);
std::string sse_done();  // "data: [DONE]\n\n"

}  // namespace nucleus::server

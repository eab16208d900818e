// A chat request's messages: OpenAI's message objects (roles system,
// developer, user, assistant, tool; text content or text parts; an assistant's
// tool_calls, a tool result's tool_call_id, name, reasoning_content) read into
// ChatMessage, each wrong field a 400 naming it (messages[i].field).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "text/chat_message.h"

namespace nucleus::server {

std::vector<ChatMessage> parse_messages(const nlohmann::json& v);

}  // namespace nucleus::server

// One message of a conversation as the chat templates see it: OpenAI's
// message object, its text parts joined into `content` (and kept as sent, for
// templates that loop over them).
#pragma once

#include <string>
#include <vector>

namespace nucleus {

// An assistant's call of a tool (OpenAI: tool_calls[i].function).
struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the client sent it
};

struct ChatMessage {
  ChatMessage() = default;
  ChatMessage(std::string role_, std::string content_) : role(std::move(role_)), content(std::move(content_)) {}

  std::string role;     // system, developer, user, assistant, tool
  std::string content;  // text parts joined by "\n"
  std::vector<std::string> parts;  // the text parts, when content was sent as an array of them
  bool content_is_null = false;  // "content": null (an assistant turn that only calls tools)
  std::vector<ChatToolCall> tool_calls;
  std::string tool_call_id;       // role tool: the call this answers
  std::string name;               // optional participant or tool name
  std::string reasoning_content;  // an assistant turn's reasoning, for templates that show it
};

}  // namespace nucleus

#include "server/chat_messages.h"

#include <string>

#include "server/errors.h"
#include "server/json_field.h"

namespace nucleus::server {

using nlohmann::json;

namespace {

// An optional string field of a message.
std::string message_string(const json& m, const char* key, const std::string& where) {
  const json* v = field(m, key);
  if (!v) return "";
  if (!v->is_string()) throw invalid_param(where + "." + key, where + "." + key + " must be a string");
  return v->get<std::string>();
}

// What tool calling and reasoning add to a message: an assistant's tool_calls
// (arguments as a JSON string, as OpenAI sends them), a tool result's
// tool_call_id, a name, an assistant's earlier reasoning_content.
void parse_message_extras(const json& m, const std::string& where, ChatMessage& msg) {
  msg.name = message_string(m, "name", where);
  msg.reasoning_content = message_string(m, "reasoning_content", where);
  msg.tool_call_id = message_string(m, "tool_call_id", where);
  if (msg.role == "tool" && msg.tool_call_id.empty() && !field(m, "name")) {
    throw invalid_param(where + ".tool_call_id", where + ".tool_call_id is required in a tool message");
  }
  const json* calls = field(m, "tool_calls");
  if (!calls) return;
  if (msg.role != "assistant") throw invalid_param(where + ".tool_calls", "only assistant messages have tool_calls");
  if (!calls->is_array()) throw invalid_param(where + ".tool_calls", where + ".tool_calls must be an array");
  for (size_t k = 0; k < calls->size(); ++k) {
    const std::string at = where + ".tool_calls[" + std::to_string(k) + "]";
    const json& c = (*calls)[k];
    const json* function = c.is_object() ? field(c, "function") : nullptr;
    if (!function || !function->is_object()) throw invalid_param(at + ".function", at + ".function must be an object");
    ChatToolCall call;
    call.id = c.is_object() ? message_string(c, "id", at) : "";
    call.name = message_string(*function, "name", at + ".function");
    if (call.name.empty()) throw invalid_param(at + ".function.name", at + ".function.name is required");
    const json* args = field(*function, "arguments");
    if (args && args->is_string()) {
      call.arguments = args->get<std::string>();
      require_shallow_json_text(call.arguments, at + ".function.arguments");  // the template gets them parsed
    } else if (args && args->is_object()) {  // some clients send the object itself
      call.arguments = args->dump();
    } else if (args) {
      throw invalid_param(at + ".function.arguments", at + ".function.arguments must be a JSON string");
    } else {
      call.arguments = "{}";
    }
    msg.tool_calls.push_back(std::move(call));
  }
}

}  // namespace

std::vector<ChatMessage> parse_messages(const json& v) {
  if (!v.is_array()) throw invalid_param("messages", std::string("messages must be an array, got ") + type_name(v));
  if (v.empty()) throw invalid_param("messages", "messages must not be empty");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) throw invalid_param(where, where + " must be an object");
    const json* role = field(m, "role");
    if (!role || !role->is_string()) throw invalid_param(where + ".role", where + ".role must be a string");
    ChatMessage msg;
    msg.role = role->get<std::string>();
    // "developer" (OpenAI's newer name for system) stays as sent: the chat
    // formatter gives it to templates that know it and makes it "system" for the rest.
    if (msg.role != "system" && msg.role != "developer" && msg.role != "user" && msg.role != "assistant" &&
        msg.role != "tool")
      throw invalid_param(where + ".role",
                          where + ".role must be system, developer, user, assistant or tool, got '" + msg.role + "'");
    parse_message_extras(m, where, msg);
    const json* content = field(m, "content");
    if (!content) {
      if (msg.role != "assistant") throw invalid_param(where + ".content", where + ".content is required");
      msg.content_is_null = true;
    } else if (content->is_string()) {
      msg.content = content->get<std::string>();
    } else if (content->is_array()) {
      // Text parts joined by newlines, as vLLM and llama.cpp join them (words
      // of adjacent parts must not run together), and kept as parts for
      // templates that loop over them (ChatFormatter).
      for (const json& part : *content) {
        const json* type = part.is_object() ? field(part, "type") : nullptr;
        if (!type || !type->is_string())
          throw invalid_param(where + ".content", where + ".content parts must be objects with a \"type\"");
        if (type->get<std::string>() != "text")
          throw not_supported(where + ".content", "content parts of type '" + type->get<std::string>() +
                                                      "' are not supported (text only)");
        const json* text = field(part, "text");
        if (!text || !text->is_string())
          throw invalid_param(where + ".content", where + ".content text parts need a string \"text\"");
        msg.parts.push_back(text->get<std::string>());
      }
      for (size_t k = 0; k < msg.parts.size(); ++k) msg.content += (k ? "\n" : "") + msg.parts[k];
    } else {
      throw invalid_param(where + ".content",
                          where + ".content must be a string or an array of text parts, got " + type_name(*content));
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace nucleus::server

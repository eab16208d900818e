#include "server/chat_tools.h"

#include <algorithm>

#include "server/errors.h"
#include "server/json_field.h"
#include "text/tool_call_id.h"

namespace nucleus::server {
namespace {

using ojson = nlohmann::ordered_json;

const char* type_name(const ojson& v) { return v.type_name(); }

// OpenAI's rule for function names: letters, digits, underscores and dashes, at most 64.
bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

const ojson* function_of(const ChatTools& t, const std::string& name) {
  for (const ojson& tool : t.tools) {
    if (tool["function"]["name"] == name) return &tool["function"];
  }
  return nullptr;
}

// A function's parameters schema; a function without one takes any object.
ojson parameters_of(const ojson& function) {
  const ojson* p = field(function, "parameters");
  return p ? *p : ojson{{"type", "object"}};
}

void parse_tool_choice(const ojson& body, ChatTools& t) {
  const ojson* choice = field(body, "tool_choice");
  const bool has_tools = !t.names.empty();
  if (!choice) {
    t.choice = has_tools ? ToolChoice::kAuto : ToolChoice::kNone;
    return;
  }
  if (choice->is_string()) {
    const std::string c = choice->get<std::string>();
    if (c == "none") {
      t.choice = ToolChoice::kNone;
    } else if (c == "auto") {
      t.choice = has_tools ? ToolChoice::kAuto : ToolChoice::kNone;
    } else if (c == "required") {
      if (!has_tools) throw invalid_param("tool_choice", "tool_choice 'required' needs tools");
      t.choice = ToolChoice::kRequired;
    } else {
      throw invalid_param("tool_choice",
                          "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": "
                          "{\"name\": ...}}, got '" + c + "'");
    }
    return;
  }
  const ojson* type = choice->is_object() ? field(*choice, "type") : nullptr;
  const ojson* function = choice->is_object() ? field(*choice, "function") : nullptr;
  const ojson* name = function && function->is_object() ? field(*function, "name") : nullptr;
  if (!type || *type != "function" || !name || !name->is_string()) {
    throw invalid_param("tool_choice",
                        "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": "
                        "{\"name\": ...}}");
  }
  t.forced_name = name->get<std::string>();
  if (std::find(t.names.begin(), t.names.end(), t.forced_name) == t.names.end()) {
    throw invalid_param("tool_choice", "tool_choice names the function '" + t.forced_name + "', which is not in tools");
  }
  t.choice = ToolChoice::kNamed;
}

}  // namespace

ChatTools parse_chat_tools(const ojson& body) {
  ChatTools t;
  if (const ojson* tools = field(body, "tools")) {
    if (!tools->is_array()) throw invalid_param("tools", std::string("tools must be an array, got ") + type_name(*tools));
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string where = "tools[" + std::to_string(i) + "]";
      const ojson& tool = (*tools)[i];
      const ojson* type = tool.is_object() ? field(tool, "type") : nullptr;
      if (!type || *type != "function") {
        throw invalid_param(where + ".type", where + " must be an object with \"type\": \"function\"");
      }
      const ojson* function = field(tool, "function");
      if (!function || !function->is_object()) {
        throw invalid_param(where + ".function", where + ".function must be an object");
      }
      const ojson* name = field(*function, "name");
      if (!name || !name->is_string() || !valid_function_name(name->get<std::string>())) {
        throw invalid_param(where + ".function.name", where +
                                                          ".function.name must be 1 to 64 letters, digits, "
                                                          "underscores or dashes");
      }
      if (std::find(t.names.begin(), t.names.end(), name->get<std::string>()) != t.names.end()) {
        throw invalid_param(where + ".function.name", "two tools are named '" + name->get<std::string>() + "'");
      }
      if (const ojson* d = field(*function, "description"); d && !d->is_string()) {
        throw invalid_param(where + ".function.description", where + ".function.description must be a string");
      }
      if (const ojson* p = field(*function, "parameters"); p && !p->is_object()) {
        throw invalid_param(where + ".function.parameters", where + ".function.parameters must be a JSON Schema object");
      }
      t.names.push_back(name->get<std::string>());
    }
    if (!tools->empty()) t.tools = *tools;
  }
  parse_tool_choice(body, t);
  if (const ojson* parallel = field(body, "parallel_tool_calls")) {
    if (!parallel->is_boolean()) throw invalid_param("parallel_tool_calls", "parallel_tool_calls must be a boolean");
    t.parallel = parallel->get<bool>();
  }
  return t;
}

StructuredOutput forced_call_output(const ChatTools& t) {
  StructuredOutput out;
  out.kind = grammar::GrammarKind::kJsonSchema;
  out.param = "tool_choice";
  if (t.choice == ToolChoice::kNamed) {
    out.source = parameters_of(*function_of(t, t.forced_name)).dump();
    return out;
  }
  ojson any = ojson::array();
  for (const ojson& tool : t.tools) {
    const ojson& function = tool["function"];
    any.push_back({{"type", "object"},
                   {"properties", {{"name", {{"const", function["name"]}}}, {"parameters", parameters_of(function)}}},
                   {"required", {"name", "parameters"}},
                   {"additionalProperties", false}});
  }
  ojson schema = {{"type", "array"}, {"items", any.size() == 1 ? any[0] : ojson{{"anyOf", any}}}, {"minItems", 1}};
  if (!t.parallel) schema["maxItems"] = 1;
  out.source = schema.dump();
  return out;
}

std::vector<ToolCall> read_forced_calls(const ChatTools& t, const std::string& text, uint64_t id_seed) {
  ToolCallIdSource ids(id_seed);
  std::vector<ToolCall> calls;
  if (t.choice == ToolChoice::kNamed) {
    const size_t b = text.find_first_not_of(" \t\n\r");
    const size_t e = text.find_last_not_of(" \t\n\r");
    calls.push_back({ids.next(), t.forced_name, b == std::string::npos ? "{}" : text.substr(b, e - b + 1)});
    return calls;
  }
  // The grammar made it an array of {"name", "parameters"}; a generation cut
  // short (max_tokens) may not parse, and then no call is reported.
  const ojson parsed = ojson::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) return calls;
  for (const ojson& call : parsed) {
    if (!call.is_object() || !call.contains("name") || !call["name"].is_string()) continue;
    calls.push_back({ids.next(), call["name"].get<std::string>(),
                     call.contains("parameters") ? call["parameters"].dump() : "{}"});
  }
  return calls;
}

}  // namespace nucleus::server

#include "server/chat_tools.h"

#include <algorithm>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/json_schema.h"
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
      } else if (const ojson* type = p ? field(*p, "type") : nullptr; type && *type != "object") {
        // Arguments are a JSON object (what clients json.loads into keyword
        // arguments); OpenAI refuses any other top-level type too.
        throw invalid_param(where + ".function.parameters", where + ".function.parameters must have type \"object\", got " +
                                                               type->dump());
      }
      t.names.push_back(name->get<std::string>());
    }
    t.tools = *tools;  // [] too: templates see an empty list, as transformers and vLLM give them
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
  // Each function's schema compiled alone first, so that one the grammar
  // engine refuses is reported against the tool that holds it.
  for (size_t i = 0; i < t.tools.size(); ++i) {
    const ojson& function = t.tools[i]["function"];
    if (t.choice == ToolChoice::kNamed && function["name"] != t.forced_name) continue;
    try {
      grammar::compile_json_schema(parameters_of(function));
    } catch (const grammar::GrammarError& e) {
      const std::string where = "tools[" + std::to_string(i) + "].function.parameters";
      throw invalid_param(where, where + ": " + e.what());
    }
  }
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

namespace {

// A reader of the forced array [{"name": "...", "parameters": VALUE}, ...],
// whose shape the grammar guarantees (keys in schema order, whitespace
// between tokens); it stops where the text ends.
class ForcedArrayReader {
 public:
  explicit ForcedArrayReader(std::string_view text) : t_(text) {}

  std::vector<ForcedCall> read() {
    std::vector<ForcedCall> calls;
    if (!literal('[')) return calls;
    while (true) {
      skip_ws();
      if (at_end() || t_[i_] == ']') return calls;
      if (t_[i_] == ',') ++i_;
      if (!literal('{') || !key("name")) return calls;
      std::string name;
      if (!string_value(name)) return calls;
      calls.push_back({std::move(name), "", false});
      if (!literal(',') || !key("parameters")) return calls;
      skip_ws();
      const size_t start = i_;
      const bool done = skip_value();
      calls.back().arguments = std::string(t_.substr(start, i_ - start));
      calls.back().complete = done;
      if (!done || !literal('}')) return calls;
    }
  }

 private:
  bool at_end() const { return i_ >= t_.size(); }
  void skip_ws() {
    while (!at_end() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool literal(char c) {
    skip_ws();
    if (at_end() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  // A JSON string token from i_ (at its quote); false when it has not ended.
  bool string_token(size_t& end) {
    if (at_end() || t_[i_] != '"') return false;
    for (size_t k = i_ + 1; k < t_.size(); ++k) {
      if (t_[k] == '\\') {
        ++k;
      } else if (t_[k] == '"') {
        end = k + 1;
        return true;
      }
    }
    return false;
  }
  bool string_value(std::string& out) {
    skip_ws();
    size_t end = 0;
    if (!string_token(end)) return false;
    const auto parsed = nlohmann::json::parse(t_.substr(i_, end - i_), nullptr, false);
    if (!parsed.is_string()) return false;
    out = parsed.get<std::string>();
    i_ = end;
    return true;
  }
  bool key(const char* name) {
    std::string k;
    return string_value(k) && k == name && literal(':');
  }
  // Moves past one JSON value; false (i_ at the end of the text) when it has not ended.
  bool skip_value() {
    if (at_end()) return false;
    if (t_[i_] == '"') {
      size_t end = 0;
      if (!string_token(end)) {
        i_ = t_.size();
        return false;
      }
      i_ = end;
      return true;
    }
    if (t_[i_] == '{' || t_[i_] == '[') {
      int depth = 0;
      for (; i_ < t_.size(); ++i_) {
        const char c = t_[i_];
        if (c == '"') {
          size_t end = 0;
          if (!string_token(end)) {
            i_ = t_.size();
            return false;
          }
          i_ = end - 1;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          ++i_;
          return true;
        }
      }
      return false;
    }
    // A number, true, false or null: it has ended only when something follows it.
    while (!at_end() && std::string_view(",}] \t\n\r").find(t_[i_]) == std::string_view::npos) ++i_;
    return !at_end();
  }

  std::string_view t_;
  size_t i_ = 0;
};

}  // namespace

std::vector<ForcedCall> scan_forced_calls(const ChatTools& t, std::string_view text) {
  if (t.choice == ToolChoice::kNamed) {
    // The grammar writes the arguments object alone, without surrounding whitespace.
    return {{t.forced_name, std::string(text), false}};
  }
  return ForcedArrayReader(text).read();
}

std::vector<ToolCall> read_forced_calls(const ChatTools& t, const std::string& text, uint64_t id_seed) {
  ToolCallIdSource ids(id_seed, t.id_style);
  std::vector<ToolCall> calls;
  for (ForcedCall& c : scan_forced_calls(t, text)) calls.push_back({ids.next(), std::move(c.name), std::move(c.arguments)});
  if (t.choice == ToolChoice::kNamed && calls[0].arguments.empty()) calls[0].arguments = "{}";
  return calls;
}

}  // namespace nucleus::server

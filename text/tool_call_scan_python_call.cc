// Llama 3.1's builtin-tool calls: <|python_tag|>brave_search.call(query="...")
// (the template writes them as NAME.call(KEY="VALUE", ...)). Values are Python
// literals: quoted strings, numbers, True, False, None.
#include <nlohmann/json.hpp>

#include "text/json_scan.h"
#include "text/tool_call_scan.h"

namespace nucleus::tool_call_scan {
namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

size_t skip_spaces(std::string_view text, size_t pos) {
  while (pos < text.size() && text[pos] == ' ') ++pos;
  return pos;
}

// A quoted Python string at text[pos] decoded into `out`; npos when the text
// ends inside it, else one past the closing quote.
size_t python_string(std::string_view text, size_t pos, std::string& out) {
  char quote = text[pos];
  for (size_t i = pos + 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == quote) return i + 1;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == text.size()) break;
    switch (text[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '\'':
      case '"':
        out += text[i];
        break;
      default:
        out += '\\';
        out += text[i];  // Python keeps unknown escapes as written
    }
  }
  return std::string_view::npos;
}

// A bare literal (number, True, False, None) as JSON text; empty if it is none.
std::string bare_literal(std::string_view raw) {
  if (raw == "True") return "true";
  if (raw == "False") return "false";
  if (raw == "None") return "null";
  nlohmann::json number = nlohmann::json::parse(raw, nullptr, false);
  return !number.is_discarded() && number.is_number() ? std::string(raw) : "";
}

}  // namespace

Attempt python_style_call(std::string_view text, size_t pos, bool at_end) {
  auto need_more = [at_end] { return Attempt{at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0}; };
  pos = json_scan::skip_space(text, pos);
  size_t name_end = pos;
  while (name_end < text.size() && is_identifier_char(text[name_end])) ++name_end;
  if (name_end == text.size()) return need_more();
  if (name_end == pos) return {};
  Attempt open = expect_literal(text, name_end, ".call(", at_end);
  if (open.outcome != Outcome::kCall) return open;
  std::string arguments = "{";
  size_t i = skip_spaces(text, open.end);
  while (true) {
    if (i == text.size()) return need_more();
    if (text[i] == ')') break;
    size_t key_end = i;
    while (key_end < text.size() && is_identifier_char(text[key_end])) ++key_end;
    size_t eq = skip_spaces(text, key_end);
    if (eq == text.size()) return need_more();
    if (key_end == i || text[eq] != '=') return {};
    size_t value = skip_spaces(text, eq + 1);
    if (value == text.size()) return need_more();
    std::string value_json;
    size_t value_end;
    if (text[value] == '"' || text[value] == '\'') {
      std::string decoded;
      value_end = python_string(text, value, decoded);
      if (value_end == std::string_view::npos) return need_more();
      value_json = nlohmann::json(decoded).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      value_end = value;
      while (value_end < text.size() && text[value_end] != ',' && text[value_end] != ')') ++value_end;
      if (value_end == text.size()) return need_more();
      value_json = bare_literal(json_scan::trim(text.substr(value, value_end - value)));
      if (value_json.empty()) return {};
    }
    if (arguments.size() > 1) arguments += ", ";
    // Keys are identifiers: nothing in them needs escaping.
    arguments += '"';
    arguments.append(text.substr(i, key_end - i));
    arguments += "\": ";
    arguments += value_json;
    i = skip_spaces(text, value_end);
    if (i == text.size()) return need_more();
    if (text[i] == ',') {
      i = skip_spaces(text, i + 1);
    } else if (text[i] != ')') {
      return {};
    }
  }
  Attempt found{Outcome::kCall, {}, i + 1};
  found.calls.push_back({"", std::string(text.substr(pos, name_end - pos)), arguments + "}"});
  return found;
}

}  // namespace nucleus::tool_call_scan

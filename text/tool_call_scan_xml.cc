// Calls whose arguments are written as tagged key/value pairs:
//   Qwen3-Coder (also Qwen3.5, Nemotron 3 Nano, StepFun 3.5):
//     <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function>\n</tool_call>
//   GLM 4.5-4.7 (also Ling 3, Laguna, Spark 2.5):
//     <tool_call>NAME\n<arg_key>KEY</arg_key>\n<arg_value>VALUE</arg_value>\n...</tool_call>
// A value is raw text (the templates write strings as they are and other
// values as JSON). Without the tool's schema its type is guessed: text that is
// a JSON number, boolean, null, array or object is that value, anything else a
// string. The arguments are built as a JSON object in the written order.
#include <nlohmann/json.hpp>

#include "text/json_scan.h"
#include "text/tool_call_scan.h"

namespace nucleus::tool_call_scan {
namespace {

constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";
constexpr std::string_view kFunctionOpen = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kParameterOpen = "<parameter=";
constexpr std::string_view kParameterClose = "</parameter>";
constexpr std::string_view kArgKeyOpen = "<arg_key>";
constexpr std::string_view kArgKeyClose = "</arg_key>";
constexpr std::string_view kArgValueOpen = "<arg_value>";
constexpr std::string_view kArgValueClose = "</arg_value>";

// `text` up to the first '>' from `pos`, which must not span lines: a tag's name.
Attempt tag_name(std::string_view text, size_t pos, bool at_end, std::string_view& name) {
  size_t end = pos;
  while (end < text.size() && text[end] != '>' && text[end] != '\n' && text[end] != '<') ++end;
  if (end == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  if (end == pos || text[end] != '>') return {Outcome::kNotCall, {}, 0};
  name = text.substr(pos, end - pos);
  return {Outcome::kCall, {}, end + 1};
}

std::string json_string(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Appends "KEY": VALUE to the arguments object being built ("{" so far at first).
void add_argument(std::string& arguments, std::string_view key, std::string_view raw_value) {
  if (arguments.size() > 1) arguments += ", ";
  arguments += json_string(key);
  arguments += ": ";
  std::string_view trimmed = json_scan::trim(raw_value);
  nlohmann::json typed = nlohmann::json::parse(trimmed, nullptr, false);
  arguments += !typed.is_discarded() && !typed.is_string() ? std::string(trimmed) : json_string(raw_value);
}

// The text from `pos` up to `close`, and the position after `close`.
Attempt up_to(std::string_view text, size_t pos, std::string_view close, bool at_end, std::string_view& body) {
  size_t end = text.find(close, pos);
  if (end == std::string_view::npos) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  body = text.substr(pos, end - pos);
  return {Outcome::kCall, {}, end + close.size()};
}

Attempt found_call(std::string_view name, std::string arguments, size_t end) {
  Attempt found{Outcome::kCall, {}, end};
  found.calls.push_back({"", std::string(name), std::move(arguments) + "}"});
  return found;
}

Attempt xml_call(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* /*no JSON containers*/) {
  Attempt open = expect_literal(text, json_scan::skip_space(text, pos), kFunctionOpen, at_end);
  if (open.outcome != Outcome::kCall) return open;
  std::string_view name;
  Attempt named = tag_name(text, open.end, at_end, name);
  if (named.outcome != Outcome::kCall) return named;
  std::string arguments = "{";
  size_t at = named.end;
  while (true) {
    size_t next = json_scan::skip_space(text, at);
    Attempt parameter = expect_literal(text, next, kParameterOpen, at_end);
    if (parameter.outcome == Outcome::kNeedMore) return parameter;
    if (parameter.outcome == Outcome::kNotCall) {
      Attempt close = expect_literal(text, next, kFunctionClose, at_end);
      if (close.outcome != Outcome::kCall) return close;
      return closed_by(text, found_call(name, std::move(arguments), close.end), kCallClose, at_end);
    }
    std::string_view key;
    Attempt keyed = tag_name(text, parameter.end, at_end, key);
    if (keyed.outcome != Outcome::kCall) return keyed;
    std::string_view value;
    Attempt valued = up_to(text, keyed.end, kParameterClose, at_end, value);
    if (valued.outcome != Outcome::kCall) return valued;
    // The template writes a newline after the opening tag and before the closing one.
    if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    add_argument(arguments, key, value);
    at = valued.end;
  }
}

// After "<tool_call>": NAME, then <arg_key>KEY</arg_key><arg_value>VALUE</arg_value> pairs.
Attempt glm_call(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* /*no JSON containers*/) {
  size_t name_end = pos;
  while (name_end < text.size() && text[name_end] != '\n' && text[name_end] != '<') ++name_end;
  if (name_end == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  std::string_view name = json_scan::trim(text.substr(pos, name_end - pos));
  if (name.empty()) return {};
  for (char c : name) {
    if (!is_name_char(c)) return {};  // Hermes-style JSON, or prose
  }
  std::string arguments = "{";
  size_t at = name_end;
  while (true) {
    size_t next = json_scan::skip_space(text, at);
    Attempt key_open = expect_literal(text, next, kArgKeyOpen, at_end);
    if (key_open.outcome == Outcome::kNeedMore) return key_open;
    if (key_open.outcome == Outcome::kNotCall) {
      return closed_by(text, found_call(name, std::move(arguments), next), kCallClose, at_end);
    }
    std::string_view key, value;
    Attempt keyed = up_to(text, key_open.end, kArgKeyClose, at_end, key);
    if (keyed.outcome != Outcome::kCall) return keyed;
    Attempt value_open = expect_literal(text, json_scan::skip_space(text, keyed.end), kArgValueOpen, at_end);
    if (value_open.outcome != Outcome::kCall) return value_open;
    Attempt valued = up_to(text, value_open.end, kArgValueClose, at_end, value);
    if (valued.outcome != Outcome::kCall) return valued;
    add_argument(arguments, key, value);
    at = valued.end;
  }
}

}  // namespace

Scan scan_qwen3_coder(std::string_view text, bool at_end, State& state) {
  return scan_marked_calls(text, at_end, kCallOpen, xml_call, state);
}

Scan scan_glm45(std::string_view text, bool at_end, State& state) {
  return scan_marked_calls(text, at_end, kCallOpen, glm_call, state);
}

}  // namespace nucleus::tool_call_scan

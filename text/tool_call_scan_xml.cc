// Qwen3-Coder's XML calls, also written by Qwen3.5, Nemotron 3 Nano and StepFun 3.5:
//   <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n...</function>\n</tool_call>
// A value is raw text. Without the tool's schema its type is guessed: text that
// is a JSON number, boolean, null, array or object is that value, anything else
// a string. The arguments are built as a JSON object in the written order.
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

// `text` up to the first '>' from `pos`, which must not span lines: a tag's name.
Attempt tag_name(std::string_view text, size_t pos, bool at_end, std::string_view& name) {
  size_t end = pos;
  while (end < text.size() && text[end] != '>' && text[end] != '\n' && text[end] != '<') ++end;
  if (end == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  if (end == pos || text[end] != '>') return {Outcome::kNotCall, {}, 0};
  name = text.substr(pos, end - pos);
  return {Outcome::kCall, {}, end + 1};
}

std::string value_json(std::string_view raw) {
  // The template writes a newline after the opening tag and before the closing one.
  if (!raw.empty() && raw.front() == '\n') raw.remove_prefix(1);
  if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  std::string_view trimmed = json_scan::trim(raw);
  nlohmann::json typed = nlohmann::json::parse(trimmed, nullptr, false);
  if (!typed.is_discarded() && !typed.is_string()) return std::string(trimmed);
  return nlohmann::json(std::string(raw)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
      ToolCall call{"", std::string(name), arguments + "}"};
      Attempt found{Outcome::kCall, {}, close.end};
      found.calls.push_back(std::move(call));
      return closed_by(text, std::move(found), kCallClose, at_end);
    }
    std::string_view key;
    Attempt keyed = tag_name(text, parameter.end, at_end, key);
    if (keyed.outcome != Outcome::kCall) return keyed;
    size_t value_end = text.find(kParameterClose, keyed.end);
    if (value_end == std::string_view::npos) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
    if (arguments.size() > 1) arguments += ", ";
    arguments += nlohmann::json(std::string(key)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    arguments += ": ";
    arguments += value_json(text.substr(keyed.end, value_end - keyed.end));
    at = value_end + kParameterClose.size();
  }
}

}  // namespace

Scan scan_qwen3_coder(std::string_view text, bool at_end, State& state) {
  return scan_marked_calls(text, at_end, kCallOpen, xml_call, state);
}

}  // namespace nucleus::tool_call_scan

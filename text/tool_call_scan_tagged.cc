// Formats whose calls open with a marker: Hermes, functionary v3.1, Mistral.
#include "text/json_scan.h"
#include "text/tool_call_json.h"
#include "text/tool_call_scan.h"

namespace nucleus::tool_call_scan {
namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kFunctionOpen = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::string_view kMistralCallId = "[CALL_ID]";
constexpr std::string_view kMistralArgs = "[ARGS]";

struct Name {
  Outcome outcome = Outcome::kNotCall;
  std::string_view name;
  size_t end = 0;  // first byte after the name
};

// A non-empty run of name characters at text[pos] that something else follows.
Name read_name(std::string_view text, size_t pos, bool at_end) {
  size_t end = pos;
  while (end < text.size() && is_name_char(text[end])) ++end;
  if (end == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  if (end == pos) return {Outcome::kNotCall, {}, 0};
  return {Outcome::kCall, text.substr(pos, end - pos), end};
}

auto named_call(std::string_view name, std::string_view id = {}) {
  return [name, id](std::string_view object) {
    auto call = tool_call_json::call_from_name_and_arguments(name, object);
    if (call) call->id = std::string(id);
    return call;
  };
}

// <function=NAME>{...}</function>
Attempt functionary_v31_call(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* memo) {
  Name name = read_name(text, pos, at_end);
  if (name.outcome != Outcome::kCall) return {name.outcome, {}, 0};
  Attempt gt = expect_literal(text, name.end, ">", at_end);
  if (gt.outcome != Outcome::kCall) return gt;
  return closed_by(text, json_object_call(text, gt.end, at_end, named_call(name.name), memo), kFunctionClose, at_end);
}

// [TOOL_CALLS][{"name": ..., "arguments": {...}, "id": "..."}, ...]
Attempt mistral_list(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* memo) {
  json_scan::ScanResult list = json_scan::scan_container(text, pos, memo);
  if (list.status != json_scan::ScanStatus::kComplete) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  auto calls = tool_call_json::calls_from_array(text.substr(pos, list.end - pos));
  if (!calls) return {Outcome::kNotCall, {}, 0};
  return {Outcome::kCall, std::move(*calls), list.end};
}

// [TOOL_CALLS]NAME[ARGS]{...} or [TOOL_CALLS]NAME[CALL_ID]ID[ARGS]{...} (Mistral Small 3.2, Devstral)
Attempt mistral_named(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* memo) {
  Name name = read_name(text, pos, at_end);
  if (name.outcome != Outcome::kCall) return {name.outcome, {}, 0};
  std::string_view id;
  size_t args_at = name.end;
  Attempt call_id = expect_literal(text, name.end, kMistralCallId, at_end);
  if (call_id.outcome == Outcome::kNeedMore) return call_id;  // "[", "[C"...: wait for the tag
  if (call_id.outcome == Outcome::kCall) {
    Name id_run = read_name(text, call_id.end, at_end);
    if (id_run.outcome != Outcome::kCall) return {id_run.outcome, {}, 0};
    id = id_run.name;
    args_at = id_run.end;
  }
  Attempt args = expect_literal(text, args_at, kMistralArgs, at_end);
  if (args.outcome != Outcome::kCall) return args;
  return json_object_call(text, args.end, at_end, named_call(name.name, id), memo);
}

Attempt mistral_call(std::string_view text, size_t pos, bool at_end, json_scan::ScanMemo* memo) {
  size_t i = json_scan::skip_space(text, pos);
  if (i == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  return text[i] == '[' ? mistral_list(text, i, at_end, memo) : mistral_named(text, i, at_end, memo);
}

}  // namespace

Scan scan_hermes(std::string_view text, bool at_end, State& state) {
  auto read = [](std::string_view object) { return tool_call_json::call_from_object(object); };
  auto hermes_call = [&read](std::string_view t, size_t pos, bool end, json_scan::ScanMemo* memo) {
    return closed_by(t, json_object_call(t, pos, end, read, memo), kHermesClose, end);
  };
  return scan_marked_calls(text, at_end, kHermesOpen, hermes_call, state);
}

Scan scan_functionary_v31(std::string_view text, bool at_end, State& state) {
  return scan_marked_calls(text, at_end, kFunctionOpen, functionary_v31_call, state);
}

Scan scan_mistral(std::string_view text, bool at_end, State& state) {
  return scan_marked_calls(text, at_end, kMistralOpen, mistral_call, state);
}

}  // namespace nucleus::tool_call_scan

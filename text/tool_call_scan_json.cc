// Formats where a call is bare JSON: Llama 3.x and the generic fallback.
#include <nlohmann/json.hpp>

#include "text/json_scan.h"
#include "text/tool_call_json.h"
#include "text/tool_call_scan.h"

namespace nucleus::tool_call_scan {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_separator(char c) { return json_scan::is_space(c) || c == ';'; }

std::optional<ToolCall> bare_call(std::string_view object) {
  return tool_call_json::call_from_object(object, {.require_arguments = true});
}

std::optional<ToolCall> tagged_call(std::string_view object) { return tool_call_json::call_from_object(object); }

// Calls one after another from `pos`, separated by whitespace or ';'. Stops at
// the first thing that is not a call: `pos_out` is where that begins (the
// separators before it included), so the caller can make it content.
template <typename Reader>
Outcome call_run(std::string_view text, size_t pos, bool at_end, Reader read, json_scan::ScanMemo* memo, Scan& scan,
                 size_t& pos_out) {
  pos_out = pos;
  while (true) {
    size_t i = pos_out;
    while (i < text.size() && is_separator(text[i])) ++i;
    if (i == text.size()) return at_end ? Outcome::kNotCall : Outcome::kNeedMore;
    Attempt attempt = json_object_call(text, i, at_end, read, memo);
    if (attempt.outcome != Outcome::kCall) return attempt.outcome;
    for (ToolCall& call : attempt.calls) scan.add_call(std::move(call));
    pos_out = attempt.end;
  }
}

}  // namespace

// Llama 3.1-3.3: {"name": ..., "parameters": {...}} (several separated by ';'
// or newlines) as the answer, or such JSON after <|python_tag|> anywhere, or
// after the tag a builtin tool's tool.call(query="..."). Raw code after the
// tag (code_interpreter) stays content: the tool list is not known here.
Scan scan_llama3(std::string_view text, bool at_end, State& state) {
  Scan scan;
  size_t pos = 0;
  if (state.in_call_run) {
    Outcome run = state.run_after_tag ? call_run(text, 0, at_end, tagged_call, &state.memo, scan, pos)
                                      : call_run(text, 0, at_end, bare_call, &state.memo, scan, pos);
    if (run == Outcome::kNeedMore) {
      scan.consumed = pos;
      return scan;
    }
    state.in_call_run = false;
  }
  size_t search = pos;
  while (true) {
    size_t tag = text.find(kPythonTag, search);
    if (tag == std::string_view::npos) {
      size_t end = content_end(text, pos, {kPythonTag}, at_end);
      scan.add_content(text.substr(pos, end - pos));
      scan.consumed = end;
      return scan;
    }
    Scan calls;
    size_t after = 0;
    Outcome run = call_run(text, tag + kPythonTag.size(), at_end, tagged_call, &state.memo, calls, after);
    if (calls.pieces.empty() && run == Outcome::kNeedMore) {
      scan.add_content(text.substr(pos, tag - pos));
      scan.consumed = tag;
      return scan;
    }
    if (calls.pieces.empty()) {
      Attempt builtin = python_style_call(text, tag + kPythonTag.size(), at_end);
      if (builtin.outcome == Outcome::kNeedMore) {
        scan.add_content(text.substr(pos, tag - pos));
        scan.consumed = tag;
        return scan;
      }
      if (builtin.outcome == Outcome::kCall) {
        scan.add_content(text.substr(pos, tag - pos));
        scan.add_call(std::move(builtin.calls.front()));
        pos = search = builtin.end;
      } else {
        search = tag + kPythonTag.size();  // neither form after the tag: the tag stays in the content
      }
      continue;
    }
    scan.add_content(text.substr(pos, tag - pos));
    for (Piece& piece : calls.pieces) scan.add_call(std::move(piece.call));
    if (run == Outcome::kNeedMore) {
      // More calls may follow these: come back to the separators after them.
      state.in_call_run = true;
      state.run_after_tag = true;
      scan.consumed = after;
      return scan;
    }
    pos = search = after;
  }
}

namespace {

// What a whole answer that is one JSON object says: {"tool_calls": [...]},
// {"tool_call": {...}}, {"name": ..., "arguments": ...}, or {"response": "text"}
// for plain text. nullopt when it is none of them.
std::optional<Scan> generic_answer(std::string_view object_text) {
  if (json_scan::nests_too_deep(object_text)) return std::nullopt;
  nlohmann::json value = nlohmann::json::parse(object_text, nullptr, false);
  auto members = json_scan::object_members(object_text);
  if (!value.is_object() || !members) return std::nullopt;
  Scan answer;
  for (const json_scan::Member& member : *members) {
    std::string key = nlohmann::json::parse(member.key_raw, nullptr, false).get<std::string>();
    if (key == "tool_calls") {
      if (auto calls = tool_call_json::calls_from_array(member.value)) {
        for (ToolCall& call : *calls) answer.add_call(std::move(call));
        return answer;
      }
    } else if (key == "tool_call") {
      if (auto call = tool_call_json::call_from_object(member.value)) {
        answer.add_call(std::move(*call));
        return answer;
      }
    } else if (key == "response" && members->size() == 1 && value[key].is_string()) {
      answer.add_content(value[key].get<std::string>());
      return answer;
    }
  }
  if (auto call = bare_call(object_text)) {
    answer.add_call(std::move(*call));
    return answer;
  }
  return std::nullopt;
}

}  // namespace

Scan scan_generic(std::string_view text, bool at_end, State& state) {
  size_t start = json_scan::skip_space(text, 0);
  if (start == text.size() && !at_end) return {};  // only whitespace so far: an object may still come
  if (!state.content_only && start < text.size() && text[start] == '{') {
    json_scan::ScanResult object = json_scan::scan_container(text, start, &state.memo);
    bool whole_answer =
        object.status == json_scan::ScanStatus::kComplete && json_scan::skip_space(text, object.end) == text.size();
    // Until the end, a complete object may still be followed by text, and an incomplete one completed.
    if (!at_end && (whole_answer || object.status == json_scan::ScanStatus::kIncomplete)) return {};
    if (whole_answer) {
      if (std::optional<Scan> answer = generic_answer(text.substr(start, object.end - start))) {
        answer->consumed = text.size();
        return std::move(*answer);
      }
    }
  }
  state.content_only = true;
  Scan scan;
  scan.add_content(text);
  scan.consumed = text.size();
  return scan;
}

}  // namespace nucleus::tool_call_scan

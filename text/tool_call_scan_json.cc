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
Outcome call_run(std::string_view text, size_t pos, bool at_end, Reader read, Scan& scan, size_t& pos_out) {
  pos_out = pos;
  while (true) {
    size_t i = pos_out;
    while (i < text.size() && is_separator(text[i])) ++i;
    if (i == text.size()) return at_end ? Outcome::kNotCall : Outcome::kNeedMore;
    Attempt attempt = json_object_call(text, i, at_end, read);
    if (attempt.outcome != Outcome::kCall) return attempt.outcome;
    for (ToolCall& call : attempt.calls) scan.add_call(std::move(call));
    pos_out = attempt.end;
  }
}

}  // namespace

// Llama 3.1-3.3: {"name": ..., "parameters": {...}} (several separated by ';'
// or newlines) as the answer, or such JSON after <|python_tag|> anywhere. The
// builtin-tool form <|python_tag|>tool.call(query="...") stays content.
Scan scan_llama3(std::string_view text, bool at_end, State& state) {
  Scan scan;
  size_t pos = 0;
  if (state.in_call_run) {
    Outcome run = state.run_after_tag ? call_run(text, 0, at_end, tagged_call, scan, pos)
                                      : call_run(text, 0, at_end, bare_call, scan, pos);
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
    Outcome run = call_run(text, tag + kPythonTag.size(), at_end, tagged_call, calls, after);
    if (calls.pieces.empty() && run == Outcome::kNeedMore) {
      scan.add_content(text.substr(pos, tag - pos));
      scan.consumed = tag;
      return scan;
    }
    if (calls.pieces.empty()) {
      search = tag + kPythonTag.size();  // not JSON after the tag: the tag stays in the content
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

// The whole answer is one JSON object: {"tool_calls": [...]}, {"tool_call": {...}},
// {"name": ..., "arguments": ...}, or {"response": "text"} for plain text.
Scan scan_generic(std::string_view text, bool at_end, State& state) {
  Scan scan;
  size_t i = json_scan::skip_space(text, 0);
  if (!state.content_only && i < text.size() && text[i] == '{') {
    json_scan::ScanResult object = json_scan::scan_container(text, i);
    bool ends_output = object.status == json_scan::ScanStatus::kComplete &&
                       json_scan::skip_space(text, object.end) == text.size();
    if (!at_end && (object.status == json_scan::ScanStatus::kIncomplete || ends_output)) return scan;
    if (ends_output) {
      std::string_view body = text.substr(i, object.end - i);
      nlohmann::json value = nlohmann::json::parse(body, nullptr, false);
      auto members = json_scan::object_members(body);
      if (value.is_object() && members) {
        for (const json_scan::Member& member : *members) {
          std::string key = nlohmann::json::parse(member.key_raw, nullptr, false).get<std::string>();
          if (key == "tool_calls" && !member.value.empty() && member.value.front() == '[') {
            auto elements = json_scan::array_elements(member.value);
            Scan calls;
            bool all = elements && !elements->empty();
            for (size_t e = 0; all && e < elements->size(); ++e) {
              auto call = tool_call_json::call_from_object((*elements)[e]);
              if (call) calls.add_call(std::move(*call)); else all = false;
            }
            if (all) {
              calls.consumed = text.size();
              return calls;
            }
          } else if (key == "tool_call") {
            if (auto call = tool_call_json::call_from_object(member.value)) {
              scan.add_call(std::move(*call));
              scan.consumed = text.size();
              return scan;
            }
          } else if (key == "response" && value["response"].is_string() && members->size() == 1) {
            scan.add_content(value["response"].get<std::string>());
            scan.consumed = text.size();
            return scan;
          }
        }
        if (auto call = bare_call(body)) {
          scan.add_call(std::move(*call));
          scan.consumed = text.size();
          return scan;
        }
      }
    }
  }
  if (i == text.size() && !at_end) return scan;  // only whitespace so far: an object may still come
  state.content_only = true;
  scan.add_content(text);
  scan.consumed = text.size();
  return scan;
}

}  // namespace nucleus::tool_call_scan

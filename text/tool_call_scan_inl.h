// The template part of tool_call_scan.h.
#pragma once

#include "text/json_scan.h"

namespace nucleus::tool_call_scan {

template <typename Reader>
Attempt json_object_call(std::string_view text, size_t pos, bool at_end, Reader read, json_scan::ScanMemo* memo) {
  size_t i = json_scan::skip_space(text, pos);
  if (i == text.size()) return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  if (text[i] != '{') return {Outcome::kNotCall, {}, 0};
  json_scan::ScanResult object = json_scan::scan_container(text, i, memo);
  if (object.status != json_scan::ScanStatus::kComplete) {
    return {at_end ? Outcome::kNotCall : Outcome::kNeedMore, {}, 0};
  }
  auto call = read(text.substr(i, object.end - i));
  if (!call) return {Outcome::kNotCall, {}, 0};
  Attempt found{Outcome::kCall, {}, object.end};
  found.calls.push_back(std::move(*call));
  return found;
}

template <typename TryCall>
Scan scan_marked_calls(std::string_view text, bool at_end, std::string_view open, TryCall try_call, State& state) {
  Scan scan;
  size_t pos = 0;     // start of what is not yet in `scan`
  size_t search = 0;  // where the next marker is looked for
  while (true) {
    size_t marker = text.find(open, search);
    if (marker == std::string_view::npos) {
      size_t end = content_end(text, pos, {open}, at_end);
      scan.add_content(text.substr(pos, end - pos));
      scan.consumed = end;
      return scan;
    }
    Attempt attempt = try_call(text, marker + open.size(), at_end, &state.memo);
    if (attempt.outcome == Outcome::kNeedMore) {
      scan.add_content(text.substr(pos, marker - pos));
      scan.consumed = marker;
      return scan;
    }
    if (attempt.outcome == Outcome::kCall) {
      scan.add_content(text.substr(pos, marker - pos));
      for (ToolCall& call : attempt.calls) scan.add_call(std::move(call));
      pos = search = attempt.end;
    } else {
      search = marker + 1;  // the marker stays in the content; look again from the next byte
    }
  }
}

}  // namespace nucleus::tool_call_scan

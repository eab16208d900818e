// The per-format readers behind tool_call_parser.h. A reader is given the
// output not yet consumed and returns what is decided about its beginning:
// content pieces and calls, in order, and how many bytes that used. Without
// `at_end` it decides only what no further text could change (text that may
// start a call marker, or a call still being written, is left unconsumed),
// which is what makes a stream of any split agree with a whole parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "text/json_scan.h"
#include "text/tool_call_parser.h"

namespace nucleus::tool_call_scan {

struct Piece {
  bool is_call = false;
  std::string content;  // when !is_call
  ToolCall call;        // when is_call; id empty unless the model wrote one
};

struct Scan {
  std::vector<Piece> pieces;
  size_t consumed = 0;

  void add_content(std::string_view text);
  void add_call(ToolCall call);
};

// What a reader remembers between calls about the output consumed so far.
struct State {
  bool at_output_start = true;  // nothing consumed yet
  bool in_call_run = true;      // Llama 3: only calls (and separators) since the start or a tag
  bool run_after_tag = false;   // Llama 3: that run began at <|python_tag|>
  bool content_only = false;    // generic: known not to be a call
  // Where the scan of a call's JSON that is still being written stopped: a
  // stream resumes there, so a long call costs linear time, not quadratic.
  // Reset whenever bytes are consumed (the positions move).
  json_scan::ScanMemo memo;
};

Scan scan(ToolCallFormat format, std::string_view text, bool at_end, State& state);

// --- shared by the readers ---

// Where content starting at `pos` may be released up to when no marker was
// found: all of it at the end, else up to the longest suffix that is a proper
// prefix of one of `markers`.
size_t content_end(std::string_view text, size_t pos, const std::vector<std::string_view>& markers, bool at_end);

enum class Outcome { kNeedMore, kNotCall, kCall };
struct Attempt {
  Outcome outcome = Outcome::kNotCall;
  std::vector<ToolCall> calls;  // when kCall: one, or several for Mistral's list
  size_t end = 0;               // one past the calls' text when kCall
};

// A JSON object starting at text[pos] (after whitespace) read by `read`
// (a function from the object's text to an optional ToolCall).
template <typename Reader>
Attempt json_object_call(std::string_view text, size_t pos, bool at_end, Reader read, json_scan::ScanMemo* memo);

// A call name written in markup: letters, digits, '_', '-', '.'.
bool is_name_char(char c);

// Whether `literal` is at text[pos]: kCall when it is (end after it), kNeedMore
// when the text ends inside a prefix of it (and more may come), else kNotCall.
Attempt expect_literal(std::string_view text, size_t pos, std::string_view literal, bool at_end);

// `attempt`'s call must be followed by whitespace and `close`, or end the output.
Attempt closed_by(std::string_view text, Attempt attempt, std::string_view close, bool at_end);

// Output where calls open with the marker `open`: content up to each marker,
// then `try_call(text, after_marker, at_end, memo)`; a marker that opens no call is content.
template <typename TryCall>
Scan scan_marked_calls(std::string_view text, bool at_end, std::string_view open, TryCall try_call, State& state);

// Llama 3.1's builtin-tool form NAME.call(KEY="VALUE", ...) at text[pos].
Attempt python_style_call(std::string_view text, size_t pos, bool at_end);

Scan scan_hermes(std::string_view text, bool at_end, State& state);
Scan scan_functionary_v31(std::string_view text, bool at_end, State& state);
Scan scan_mistral(std::string_view text, bool at_end, State& state);
Scan scan_llama3(std::string_view text, bool at_end, State& state);
Scan scan_functionary_v3(std::string_view text, bool at_end, State& state);
Scan scan_generic(std::string_view text, bool at_end, State& state);
Scan scan_qwen3_coder(std::string_view text, bool at_end, State& state);
Scan scan_glm45(std::string_view text, bool at_end, State& state);

}  // namespace nucleus::tool_call_scan

#include "text/tool_call_scan_inl.h"

#include "text/tool_call_scan.h"

#include <algorithm>

namespace nucleus::tool_call_scan {

void Scan::add_content(std::string_view text) {
  if (text.empty()) return;
  if (!pieces.empty() && !pieces.back().is_call) {
    pieces.back().content += text;
  } else {
    pieces.push_back({false, std::string(text), {}});
  }
}

void Scan::add_call(ToolCall call) { pieces.push_back({true, "", std::move(call)}); }

size_t content_end(std::string_view text, size_t pos, const std::vector<std::string_view>& markers, bool at_end) {
  if (at_end) return text.size();
  size_t end = text.size();
  for (std::string_view marker : markers) {
    // The longest suffix of text[pos..] that is a proper prefix of the marker.
    size_t longest = std::min(marker.size() - 1, text.size() - pos);
    for (size_t n = longest; n > 0; --n) {
      if (text.substr(text.size() - n) == marker.substr(0, n)) {
        end = std::min(end, text.size() - n);
        break;
      }
    }
  }
  return end;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

Attempt expect_literal(std::string_view text, size_t pos, std::string_view literal, bool at_end) {
  std::string_view rest = text.substr(std::min(pos, text.size()));
  if (rest.substr(0, literal.size()) == literal) return {Outcome::kCall, {}, pos + literal.size()};
  if (!at_end && literal.substr(0, rest.size()) == rest) return {Outcome::kNeedMore, {}, 0};
  return {Outcome::kNotCall, {}, 0};
}

Attempt closed_by(std::string_view text, Attempt attempt, std::string_view close, bool at_end) {
  if (attempt.outcome != Outcome::kCall) return attempt;
  size_t after = json_scan::skip_space(text, attempt.end);
  if (after == text.size() && at_end) {
    attempt.end = after;  // an unterminated call at the end of the output still counts
    return attempt;
  }
  Attempt tag = expect_literal(text, after, close, at_end);
  if (tag.outcome != Outcome::kCall) return {tag.outcome, {}, 0};
  attempt.end = tag.end;
  return attempt;
}

namespace {

Scan read_format(ToolCallFormat format, std::string_view text, bool at_end, State& state) {
  switch (format) {
    case ToolCallFormat::kHermes:
      return scan_hermes(text, at_end, state);
    case ToolCallFormat::kLlama3:
      return scan_llama3(text, at_end, state);
    case ToolCallFormat::kMistral:
      return scan_mistral(text, at_end, state);
    case ToolCallFormat::kFunctionaryV3:
      return scan_functionary_v3(text, at_end, state);
    case ToolCallFormat::kFunctionaryV31:
      return scan_functionary_v31(text, at_end, state);
    case ToolCallFormat::kQwen3Coder:
      return scan_qwen3_coder(text, at_end, state);
    case ToolCallFormat::kGlm45:
      return scan_glm45(text, at_end, state);
    case ToolCallFormat::kGeneric:
      break;
  }
  return scan_generic(text, at_end, state);
}

}  // namespace

Scan scan(ToolCallFormat format, std::string_view text, bool at_end, State& state) {
  Scan result = read_format(format, text, at_end, state);
  if (result.consumed > 0) {
    state.at_output_start = false;
    state.memo = {};
  }
  return result;
}

}  // namespace nucleus::tool_call_scan

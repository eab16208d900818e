#include "text/reasoning_parser.h"

#include <algorithm>

#include "text/json_scan.h"

namespace nucleus {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

std::string_view trim_left(std::string_view text) { return text.substr(json_scan::skip_space(text, 0)); }

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
size_t partial_marker_at_end(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(marker.size() - 1, text.size()); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

std::optional<ReasoningFormat> parse_reasoning_format(std::string_view name) {
  if (name == "none") return ReasoningFormat::kNone;
  if (name == "deepseek" || name == "auto") return ReasoningFormat::kDeepSeek;
  return std::nullopt;
}

ReasoningSplit split_reasoning(std::string_view text, bool started_in_reasoning) {
  std::string_view rest = text;
  if (!started_in_reasoning) {
    std::string_view opened = trim_left(text);
    if (opened.substr(0, kOpen.size()) != kOpen) return {"", std::string(text)};
    rest = opened.substr(kOpen.size());
  }
  size_t close = rest.find(kClose);
  if (close == std::string_view::npos) return {std::string(json_scan::trim(rest)), ""};
  return {std::string(json_scan::trim(rest.substr(0, close))),
          std::string(trim_left(rest.substr(close + kClose.size())))};
}

bool prompt_ends_in_reasoning(std::string_view rendered_prompt) {
  std::string_view t = json_scan::trim(rendered_prompt);
  return t.size() >= kOpen.size() && t.substr(t.size() - kOpen.size()) == kOpen;
}

ReasoningStreamSplitter::ReasoningStreamSplitter(bool started_in_reasoning)
    : phase_(started_in_reasoning ? Phase::kReasoning : Phase::kUndecided) {}

ReasoningSplit ReasoningStreamSplitter::feed(std::string_view text) {
  pending_ += text;
  return read(/*at_end=*/false);
}

ReasoningSplit ReasoningStreamSplitter::finish() { return read(/*at_end=*/true); }

ReasoningSplit ReasoningStreamSplitter::read(bool at_end) {
  ReasoningSplit out;
  if (phase_ == Phase::kUndecided) {
    std::string_view opened = trim_left(pending_);
    if (opened.substr(0, kOpen.size()) == kOpen) {
      pending_.erase(0, pending_.size() - opened.size() + kOpen.size());
      phase_ = Phase::kReasoning;
    } else if (!at_end && kOpen.substr(0, opened.size()) == opened) {
      return out;  // still may become "<think>"
    } else {
      phase_ = Phase::kContent;
    }
  }
  if (phase_ == Phase::kReasoning) {
    size_t close = pending_.find(kClose);
    if (close == std::string::npos) {
      size_t keep = at_end ? 0 : partial_marker_at_end(pending_, kClose);
      out.reasoning = reasoning_.push(std::string_view(pending_).substr(0, pending_.size() - keep));
      pending_.erase(0, pending_.size() - keep);
      if (at_end) out.reasoning += reasoning_.finish();
      return out;
    }
    out.reasoning = reasoning_.push(std::string_view(pending_).substr(0, close));
    out.reasoning += reasoning_.finish();
    pending_.erase(0, close + kClose.size());
    phase_ = Phase::kContentStart;
  }
  if (phase_ == Phase::kContentStart) {
    pending_.erase(0, json_scan::skip_space(pending_, 0));
    if (pending_.empty()) return out;
    phase_ = Phase::kContent;
  }
  out.content += pending_;
  pending_.clear();
  return out;
}

}  // namespace nucleus

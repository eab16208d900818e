// Reasoning text in model output, for the API's `reasoning_content`:
// DeepSeek-R1 distills, Qwen3, SmolLM3 and QwQ think inside <think>...</think>
// before they answer. The reasoning is trimmed of surrounding whitespace, and
// so is the start of the answer after "</think>". An output that does not
// open with "<think>" (and was not started inside one) is all content, as is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "text/trimmed_text_stream.h"

namespace nucleus {

// llama.cpp's --reasoning-format: none leaves the think block in the content.
enum class ReasoningFormat { kNone, kDeepSeek };
// "none" -> kNone; "deepseek" and "auto" -> kDeepSeek; nullopt otherwise.
std::optional<ReasoningFormat> parse_reasoning_format(std::string_view name);

struct ReasoningSplit {
  std::string reasoning;
  std::string content;
};

// `started_in_reasoning`: the prompt already ends inside a think block (the
// generation prompt wrote "<think>", see prompt_ends_in_reasoning), so the
// output is reasoning until "</think>". An unclosed block is all reasoning.
ReasoningSplit split_reasoning(std::string_view text, bool started_in_reasoning);

// True when the rendered prompt ends with "<think>" and optional whitespace.
bool prompt_ends_in_reasoning(std::string_view rendered_prompt);

// The same split as text arrives. Each call returns the new parts; text that
// may be the start of "<think>" or "</think>" is held back until it is known.
// Feeding any split of a text and then finish() gives split_reasoning's result.
class ReasoningStreamSplitter {
 public:
  explicit ReasoningStreamSplitter(bool started_in_reasoning);
  ReasoningSplit feed(std::string_view text);
  ReasoningSplit finish();

 private:
  enum class Phase { kUndecided, kReasoning, kContentStart, kContent };
  ReasoningSplit read(bool at_end);

  Phase phase_;
  std::string pending_;
  TrimmedTextStream reasoning_;
};

}  // namespace nucleus

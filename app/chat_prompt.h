// The model's chat template as `nucleus serve`, `generate --chat` and the
// benches use it, and a prompt as the one user message of a chat.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/chat_formatter.h"

namespace nucleus {
class Model;
class Tokenizer;
}  // namespace nucleus

namespace nucleus::app {

struct LoadedChatTemplate {
  std::optional<ChatFormatter> formatter;  // none: chat is unavailable, `problem` says why
  std::string problem;
};

// `option` (--chat-template): a built-in family name, or a Jinja file; empty:
// the GGUF's tokenizer.chat_template run as Jinja. A GGUF template that does
// not parse falls back to the built-in family its markers name (with the
// reason in `problem`, for a warning). Throws std::runtime_error for a bad
// option: an unknown name, an unreadable file, a file that does not parse.
LoadedChatTemplate load_chat_template(const Model& model, const Tokenizer& tokenizer, const std::string& option);

// The tokens of `text` sent as a user message and followed by the assistant's
// turn, in the model's own template. Throws std::runtime_error when the model
// has no usable template; `who` names the caller there ("--chat").
std::vector<int32_t> chat_prompt_tokens(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                        const std::string& who);

}  // namespace nucleus::app

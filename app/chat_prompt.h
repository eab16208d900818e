// A prompt as the one user message of a chat, in the model's own chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nucleus {
class Model;
class Tokenizer;
}  // namespace nucleus

namespace nucleus::app {

// The tokens of `text` sent as a user message and followed by the assistant's
// turn, rendered with the template detected in the model's GGUF (scaffolding
// tokenized with special tokens, the text without). Throws std::runtime_error
// when no template is recognised; `who` names the caller there ("--chat").
std::vector<int32_t> chat_prompt_tokens(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                        const std::string& who);

}  // namespace nucleus::app

// Chat templates: messages -> the prompt a chat model was trained on.
//
// We do not run Jinja. Each family's format is written out in code, and the
// family is detected from markers in the GGUF's tokenizer.chat_template (or
// named with --chat-template). Rendering yields segments: scaffolding (role
// markers, BOS, turn ends), tokenized with parse_special, and message
// contents, tokenized without it, so "<|im_start|>" typed by a user stays
// plain text and can never open a new turn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_message.h"

namespace nucleus {

class Tokenizer;

enum class TemplateFamily { kChatML, kLlama3, kLlama2, kMistral, kGemma, kPhi3 };

struct TemplateSegment {
  std::string text;
  bool special = false;  // exactly one special token's text (scaffolding); else plain text
};

class ChatTemplate {
 public:
  // By name: chatml, llama3, llama2, mistral, gemma, phi3. Throws std::invalid_argument listing the names.
  static ChatTemplate from_name(std::string_view name);
  // From a GGUF tokenizer.chat_template; nullopt when no family's markers are found.
  static std::optional<ChatTemplate> detect(std::string_view jinja);
  static std::string known_names();  // "chatml, llama3, ..."

  explicit ChatTemplate(TemplateFamily family, std::string default_system = "")
      : family_(family), default_system_(std::move(default_system)) {}

  TemplateFamily family() const { return family_; }
  std::string name() const;
  // A system prompt the template inserts when the conversation has none (SmolLM2, Qwen2.5 do).
  const std::string& default_system() const { return default_system_; }

  std::vector<TemplateSegment> render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  // The whole rendered prompt as text (for tests and /tokenize).
  std::string render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

 private:
  TemplateFamily family_;
  std::string default_system_;
};

// Tokenizes rendered segments: scaffolding with parse_special, contents without.
// No BOS is added: templates that want one write it themselves.
std::vector<int32_t> tokenize_segments(const Tokenizer& tokenizer, const std::vector<TemplateSegment>& segments);

}  // namespace nucleus

// What the server turns a conversation into: the prompt text and its tokens,
// through the model's own Jinja chat template (the GGUF's
// tokenizer.chat_template, or a file given with --chat-template) or one of the
// built-in families (chat_template.h, by name).
//
// A Jinja template that knows nothing of tools (no "tool" in its source, as
// SmolLM2's) gets them the way llama.cpp's polyfill gives them: the tools and
// the answer format described in the system message, an assistant's calls
// written as {"tool_calls": [...]} JSON (the generic format the output parser
// reads back), and tool results as user messages {"tool_response": ...}.
//
// Message contents (and reasoning_content) are never parsed for special
// tokens: "<|im_start|>" typed by a user stays text and cannot open a turn.
// What the client writes elsewhere (tool definitions, tool-call arguments,
// names, template kwargs) is rendered as transformers, vLLM and llama.cpp
// render it: special-token text there is parsed as special tokens. The built-in families know
// where contents are; for a Jinja template each content is found again in the
// rendered text, in order (as written, or trimmed, or as its last part after a
// "</think>", which is what templates do to contents), and only the text
// around contents is split at special tokens. A content that holds special
// token text but cannot be found again is refused (std::invalid_argument)
// rather than tokenized as scaffolding.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "text/chat_message.h"
#include "text/chat_template.h"

namespace nucleus {

namespace jinja {
class Template;
}

// What a template renders besides the messages.
struct ChatRenderOptions {
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;   // null, or OpenAI's tools array (passed to the template as is)
  nlohmann::ordered_json kwargs;  // chat_template_kwargs: more template variables (enable_thinking, ...)
};

struct RenderedChat {
  std::string text;                       // the prompt as text (/apply-template)
  std::vector<TemplateSegment> segments;  // for tokenize_segments
};

// The vocabulary's view that a Jinja template needs: bos/eos texts and every special token's text.
struct TemplateTokens {
  std::string bos, eos;
  std::vector<std::string> specials;
  static TemplateTokens of(const Tokenizer& tokenizer);
};

// The template cannot describe the request's tools (a built-in family): the
// fault is the `tools` parameter's, not the messages'.
class ToolsNotRenderable : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class ChatFormatter {
 public:
  // A built-in family (ChatTemplate::from_name / detect).
  explicit ChatFormatter(ChatTemplate builtin);
  // A Jinja template; throws jinja::TemplateError when it does not parse.
  static ChatFormatter jinja(const std::string& source, TemplateTokens tokens, std::string name);

  // "jinja (<name>)" or the family's name.
  std::string name() const;
  bool is_jinja() const { return jinja_ != nullptr; }
  // The Jinja source ("" for a built-in family): tool-call and reasoning formats are read from it.
  const std::string& source() const { return source_; }

  // Throws ToolsNotRenderable for tools given to a built-in family,
  // std::invalid_argument for other things the template cannot render (a tool
  // message with a built-in family, a content it loses) and
  // jinja::TemplateError (RaisedException: the template's own message) when
  // the template fails.
  RenderedChat render(const std::vector<ChatMessage>& messages, const ChatRenderOptions& options) const;

 private:
  ChatFormatter() = default;
  // The Jinja path, for messages the template can take as they are.
  RenderedChat render_jinja(const std::vector<ChatMessage>& messages, const ChatRenderOptions& options) const;

  std::optional<ChatTemplate> builtin_;
  std::shared_ptr<const jinja::Template> jinja_;
  std::string source_, name_;
  TemplateTokens tokens_;
  bool knows_tools_ = false;  // the Jinja source mentions tools or tool calls
  bool loops_over_content_ = false;  // the Jinja source iterates a message's content (MessageShape::content_parts)
};

// How messages are shaped for a template. Templates disagree: most write tool
// call arguments with tojson and want the object (transformers' convention),
// some concatenate them as a string (DeepSeek-R1 distills, functionary v3.2);
// some test `content is none`, others concatenate the content and fail on
// null. render() tries the shapes in order and keeps the first that renders,
// as llama.cpp probes a template's capabilities.
struct MessageShape {
  bool object_arguments = true;  // tool call arguments that parse as a JSON object are passed as the object
  bool null_content = true;      // "content": null stays null (else "")
  // Not probed: set for templates that loop over a message's content
  // (vLLM's "openai" content format): text parts sent as an array reach the
  // template as [{"type": "text", "text": ...}], not joined.
  bool content_parts = false;
};

// The template variables transformers passes (messages, tools, documents,
// add_generation_prompt, bos_token, eos_token, then the kwargs), with each
// message in OpenAI's shape.
nlohmann::ordered_json chat_template_context(const std::vector<ChatMessage>& messages,
                                             const ChatRenderOptions& options, const TemplateTokens& tokens,
                                             MessageShape shape = {});

// Splits rendered text into segments: `plain` ranges ([begin, end), sorted,
// disjoint) stay text; elsewhere each occurrence of a special token's text is
// its own segment (the longest at each place).
std::vector<TemplateSegment> split_at_special_tokens(const std::string& text,
                                                     const std::vector<std::pair<size_t, size_t>>& plain,
                                                     const std::vector<std::string>& specials);

}  // namespace nucleus

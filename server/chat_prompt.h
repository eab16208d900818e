// A chat request's conversation as the model sees it, and how its output is
// read back: shared by /v1/chat/completions, /tokenize with messages and
// /apply-template.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/chat_output.h"
#include "server/server_state.h"
#include "text/chat_formatter.h"

namespace nucleus::server {

struct ChatPrompt {
  std::string text;
  std::vector<int32_t> tokens;
};

// What a chat body gives the template besides its messages: the generation
// prompt switch, `tools` and `chat_template_kwargs`, read from the raw body in
// the client's key order (templates print them with tojson). Throws ApiError
// for bad tools; `tools` receives them, when asked, for the route's own use.
ChatRenderOptions chat_render_options(const std::string& raw_body, bool add_generation_prompt,
                                      ChatTools* tools = nullptr);

// Renders through the served template. A template that fails (its own
// raise_exception message, an undefined variable...) or cannot render what was
// asked is a 400 naming `messages`; no template is a 400 too.
ChatPrompt render_chat_prompt(const ServerState& state, const std::vector<ChatMessage>& messages,
                              const ChatRenderOptions& options);

// What the output goes through: reasoning split when the template thinks in
// <think> and --reasoning-format is not none; tool calls per `tools`.
std::shared_ptr<const ChatOutputPlan> chat_output_plan(const ServerState& state, ChatTools tools,
                                                       const std::string& prompt_text);

}  // namespace nucleus::server

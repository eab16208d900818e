#include "server/chat_prompt.h"

#include <random>
#include <stdexcept>

#include "server/errors.h"
#include "text/jinja/error.h"

namespace nucleus::server {

ChatRenderOptions chat_render_options(const std::string& raw_body, bool add_generation_prompt, ChatTools* tools) {
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(raw_body, nullptr, false);
  ChatTools parsed = parse_chat_tools(ordered);
  ChatRenderOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.tools = parsed.tools;
  if (auto it = ordered.find("chat_template_kwargs"); it != ordered.end() && it->is_object()) options.kwargs = *it;
  if (tools) *tools = std::move(parsed);
  return options;
}

ChatPrompt render_chat_prompt(const ServerState& state, const std::vector<ChatMessage>& messages,
                              const ChatRenderOptions& options) {
  if (!state.chat) throw ApiError(400, "invalid_request_error", "this model has no chat template");
  ChatPrompt out;
  try {
    RenderedChat rendered = state.chat->render(messages, options);
    out.text = std::move(rendered.text);
    out.tokens = tokenize_segments(*state.tokenizer, rendered.segments);
  } catch (const jinja::RaisedException& e) {
    throw invalid_param("messages", std::string("the chat template refused the conversation: ") + e.what());
  } catch (const jinja::TemplateError& e) {
    throw invalid_param("messages", std::string("the chat template failed: ") + e.what());
  } catch (const ToolsNotRenderable& e) {
    throw invalid_param("tools", e.what());
  } catch (const std::invalid_argument& e) {
    throw invalid_param("messages", e.what());
  }
  return out;
}

std::shared_ptr<const ChatOutputPlan> chat_output_plan(const ServerState& state, ChatTools tools,
                                                       const std::string& prompt_text) {
  auto plan = std::make_shared<ChatOutputPlan>();
  const std::string& source = state.chat ? state.chat->source() : std::string();
  plan->split_reasoning = state.reasoning_format != ReasoningFormat::kNone &&
                          (source.find("<think>") != std::string::npos || prompt_ends_in_reasoning(prompt_text));
  plan->started_in_reasoning = plan->split_reasoning && prompt_ends_in_reasoning(prompt_text);
  plan->format = state.tool_call_format;
  plan->tools = std::move(tools);
  if (plan->format == ToolCallFormat::kMistral) plan->tools.id_style = ToolCallIdStyle::kNineAlphanumerics;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  plan->id_seed = rng();
  return plan;
}

}  // namespace nucleus::server

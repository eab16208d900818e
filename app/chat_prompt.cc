#include "app/chat_prompt.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "model/model.h"
#include "text/chat_template.h"
#include "text/jinja/error.h"
#include "text/tokenizer.h"

namespace nucleus::app {

LoadedChatTemplate load_chat_template(const Model& model, const Tokenizer& tokenizer, const std::string& option) {
  LoadedChatTemplate out;
  const bool is_file = option.size() > 6 && option.substr(option.size() - 6) == ".jinja";
  if (!option.empty() && !is_file) {
    try {
      out.formatter.emplace(ChatTemplate::from_name(option));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("--chat-template: ") + e.what() + ", or a Jinja file (FILE.jinja)");
    }
    return out;
  }
  if (is_file) {
    std::ifstream in(option, std::ios::binary);
    if (!in) throw std::runtime_error("--chat-template " + option + ": cannot read the file");
    std::stringstream text;
    text << in.rdbuf();
    try {
      out.formatter.emplace(ChatFormatter::jinja(text.str(), TemplateTokens::of(tokenizer), option));
    } catch (const jinja::TemplateError& e) {
      throw std::runtime_error("--chat-template " + option + ": not a template we can run: " + e.what());
    }
    return out;
  }
  const std::string source = model.file().get_string("tokenizer.chat_template", "");
  if (source.empty()) {
    out.problem = "the model declares no chat template (tokenizer.chat_template); give one with --chat-template";
    return out;
  }
  try {
    out.formatter.emplace(ChatFormatter::jinja(source, TemplateTokens::of(tokenizer), "tokenizer.chat_template"));
    return out;
  } catch (const jinja::TemplateError& e) {
    out.problem = std::string("the model's chat template does not parse (") + e.what() + ")";
  }
  if (std::optional<ChatTemplate> family = ChatTemplate::detect(source)) {
    out.problem += "; using the built-in '" + family->name() + "' template its markers name";
    out.formatter.emplace(*family);
  } else {
    out.problem += "; give one with --chat-template";
  }
  return out;
}

std::vector<int32_t> chat_prompt_tokens(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                        const std::string& who) {
  LoadedChatTemplate tmpl = load_chat_template(model, tokenizer, "");
  if (!tmpl.formatter) throw std::runtime_error(model.file().path() + ": " + who + ": " + tmpl.problem);
  std::vector<ChatMessage> messages(1);
  messages[0].role = "user";
  messages[0].content = text;
  return tokenize_segments(tokenizer, tmpl.formatter->render(messages, {}).segments);
}

}  // namespace nucleus::app

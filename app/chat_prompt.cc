#include "app/chat_prompt.h"

#include <optional>
#include <stdexcept>

#include "model/model.h"
#include "text/chat_template.h"

namespace nucleus::app {

std::vector<int32_t> chat_prompt_tokens(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                        const std::string& who) {
  std::optional<ChatTemplate> tmpl = ChatTemplate::detect(model.file().get_string("tokenizer.chat_template", ""));
  if (!tmpl) throw std::runtime_error(model.file().path() + ": " + who + ": the model has no chat template we recognise");
  std::vector<ChatMessage> messages(1);
  messages[0].role = "user";
  messages[0].content = text;
  return tokenize_segments(tokenizer, tmpl->render(messages, true));
}

}  // namespace nucleus::app

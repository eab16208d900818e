#include "text/chat_template.h"

// GCC 12 reports a false -Wrestrict inside std::string's memcpy when a string
// literal is prepended to a temporary (GCC bug 105329); the code is fine.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <stdexcept>

#include "text/tokenizer.h"

namespace nucleus {

namespace {

struct Named {
  const char* name;
  TemplateFamily family;
};
constexpr Named kNames[] = {
    {"chatml", TemplateFamily::kChatML}, {"llama3", TemplateFamily::kLlama3},   {"llama2", TemplateFamily::kLlama2},
    {"mistral", TemplateFamily::kMistral}, {"gemma", TemplateFamily::kGemma}, {"phi3", TemplateFamily::kPhi3},
};

std::string trim(std::string_view s) {
  const char* ws = " \t\n\r";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

// Builds the segment list: each special token is its own segment; plain
// scaffolding and contents merge into text runs, tokenized as a whole like
// HF and llama.cpp do (so BPE/SPM see the same fragments).
class Out {
 public:
  void special(std::string_view token) { segments_.push_back({std::string(token), true}); }
  void text(std::string_view text) {
    if (text.empty()) return;
    if (!segments_.empty() && !segments_.back().special) segments_.back().text += text;
    else segments_.push_back({std::string(text), false});
  }
  std::vector<TemplateSegment> take() { return std::move(segments_); }

 private:
  std::vector<TemplateSegment> segments_;
};

// Families without a system role fold the system prompt into the first user
// message ("system\n\nuser"), as the Gemma and Mistral templates in common use do.
std::vector<ChatMessage> fold_system(const std::vector<ChatMessage>& messages) {
  std::vector<ChatMessage> out;
  std::string system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
      continue;
    }
    out.push_back(m);
    if (!system.empty() && m.role == "user") {
      out.back().content = system + "\n\n" + m.content;
      system.clear();
    }
  }
  if (!system.empty()) out.push_back(ChatMessage("user", system));
  return out;
}

}  // namespace

ChatTemplate ChatTemplate::from_name(std::string_view name) {
  for (const Named& n : kNames)
    if (name == n.name) return ChatTemplate(n.family);
  throw std::invalid_argument("unknown chat template '" + std::string(name) + "'; known: " + known_names());
}

std::string ChatTemplate::known_names() {
  std::string names;
  for (const Named& n : kNames) names += (names.empty() ? "" : ", ") + std::string(n.name);
  return names;
}

std::string ChatTemplate::name() const {
  for (const Named& n : kNames)
    if (n.family == family_) return n.name;
  return "?";
}

namespace {

// The literal default system turn a ChatML template writes for conversations
// without one: the text between "<|im_start|>system" + newline (a real line
// break, or the two characters "\n" inside a Jinja string) and "<|im_end|>",
// when that text is plain (no quote, '<' or backslash, so not a template
// expression). Empty when there is none. (No std::regex: GCC 12 warns inside it.)
std::string default_system_turn(std::string_view jinja) {
  constexpr std::string_view kOpen = "<|im_start|>system", kClose = "<|im_end|>";
  for (size_t at = jinja.find(kOpen); at != std::string_view::npos; at = jinja.find(kOpen, at + 1)) {
    size_t begin = at + kOpen.size();
    if (jinja.substr(begin, 1) == "\n") {
      begin += 1;
    } else if (jinja.substr(begin, 2) == "\\n") {
      begin += 2;
    } else {
      continue;
    }
    const size_t end = jinja.find(kClose, begin);
    if (end == std::string_view::npos || end == begin) continue;
    const std::string_view text = jinja.substr(begin, end - begin);
    if (text.find_first_of("'\"<\\") == std::string_view::npos) return std::string(text);
  }
  return "";
}

}  // namespace

std::optional<ChatTemplate> ChatTemplate::detect(std::string_view jinja) {
  auto has = [&](const char* marker) { return jinja.find(marker) != std::string_view::npos; };
  if (has("<|im_start|>")) {
    // SmolLM2 and Qwen2.5 write a literal default system turn for conversations without one.
    return ChatTemplate(TemplateFamily::kChatML, default_system_turn(jinja));
  }
  if (has("<|start_header_id|>")) return ChatTemplate(TemplateFamily::kLlama3);
  if (has("<start_of_turn>")) return ChatTemplate(TemplateFamily::kGemma);
  if (has("<|user|>") && has("<|end|>")) return ChatTemplate(TemplateFamily::kPhi3);
  if (has("[INST]")) return ChatTemplate(has("<<SYS>>") ? TemplateFamily::kLlama2 : TemplateFamily::kMistral);
  return std::nullopt;
}

std::vector<TemplateSegment> ChatTemplate::render(const std::vector<ChatMessage>& input,
                                                  bool add_generation_prompt) const {
  std::vector<ChatMessage> messages = input;
  if (!default_system_.empty() && (messages.empty() || messages.front().role != "system"))
    messages.insert(messages.begin(), ChatMessage("system", default_system_));
  Out out;
  switch (family_) {
    case TemplateFamily::kChatML:
      // <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
      for (const ChatMessage& m : messages) {
        out.special("<|im_start|>");
        out.text(m.role + "\n" + m.content);
        out.special("<|im_end|>");
        out.text("\n");
      }
      if (add_generation_prompt) {
        out.special("<|im_start|>");
        out.text("assistant\n");
      }
      break;
    case TemplateFamily::kLlama3:
      // <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|> ...
      out.special("<|begin_of_text|>");
      for (const ChatMessage& m : messages) {
        out.special("<|start_header_id|>");
        out.text(m.role);
        out.special("<|end_header_id|>");
        out.text("\n\n" + trim(m.content));
        out.special("<|eot_id|>");
      }
      if (add_generation_prompt) {
        out.special("<|start_header_id|>");
        out.text("assistant");
        out.special("<|end_header_id|>");
        out.text("\n\n");
      }
      break;
    case TemplateFamily::kLlama2: {
      // <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
      std::string system;
      for (const ChatMessage& m : messages)
        if (m.role == "system") system += (system.empty() ? "" : "\n") + trim(m.content);
      bool first_user = true;
      for (const ChatMessage& m : messages) {
        if (m.role == "user") {
          out.special("<s>");
          out.text("[INST] ");
          if (first_user && !system.empty()) out.text("<<SYS>>\n" + system + "\n<</SYS>>\n\n");
          out.text(trim(m.content) + " [/INST]");
          first_user = false;
        } else if (m.role == "assistant") {
          out.text(" " + trim(m.content) + " ");
          out.special("</s>");
        }
      }
      break;  // the prompt already ends with [/INST]: the model answers next
    }
    case TemplateFamily::kMistral:
      // <s>[INST] {user} [/INST]{assistant}</s>[INST] {user} [/INST]
      // [INST] is a control token in newer Mistral vocabularies, plain text in older ones.
      out.special("<s>");
      for (const ChatMessage& m : fold_system(messages)) {
        if (m.role == "user") {
          out.special("[INST]");
          out.text(" " + m.content + " ");
          out.special("[/INST]");
        } else {
          out.text(m.content);
          out.special("</s>");
        }
      }
      break;
    case TemplateFamily::kGemma:
      // <bos><start_of_turn>user\n{content|trim}<end_of_turn>\n<start_of_turn>model\n ...
      out.special("<bos>");
      for (const ChatMessage& m : fold_system(messages)) {
        out.special("<start_of_turn>");
        out.text(std::string(m.role == "assistant" ? "model" : "user") + "\n" + trim(m.content));
        out.special("<end_of_turn>");
        out.text("\n");
      }
      if (add_generation_prompt) {
        out.special("<start_of_turn>");
        out.text("model\n");
      }
      break;
    case TemplateFamily::kPhi3:
      // <|{role}|>\n{content}<|end|>\n ... <|assistant|>\n
      for (const ChatMessage& m : messages) {
        std::string marker = "<|";  // built in steps: GCC 12 warns (-Wrestrict) on "<|" + role + "|>"
        marker.append(m.role).append("|>");
        out.special(marker);
        out.text("\n" + m.content);
        out.special("<|end|>");
        out.text("\n");
      }
      if (add_generation_prompt) {
        out.special("<|assistant|>");
        out.text("\n");
      }
      break;
  }
  return out.take();
}

std::string ChatTemplate::render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::string text;
  for (const TemplateSegment& s : render(messages, add_generation_prompt)) text += s.text;
  return text;
}

std::vector<int32_t> tokenize_segments(const Tokenizer& tokenizer, const std::vector<TemplateSegment>& segments) {
  std::vector<int32_t> ids;
  std::string run;  // plain text since the last special token
  EncodeOptions plain;
  plain.add_special = false;
  plain.parse_special = false;  // contents never turn into special tokens
  auto flush = [&] {
    std::vector<int32_t> part = tokenizer.encode(run, plain);
    ids.insert(ids.end(), part.begin(), part.end());
    run.clear();
  };
  for (const TemplateSegment& s : segments) {
    int32_t id = s.special ? tokenizer.token_to_id(s.text) : -1;
    if (id >= 0 && tokenizer.is_special(id)) {
      flush();
      ids.push_back(id);
    } else {
      run += s.text;  // a marker this vocabulary lacks is plain text (e.g. [INST] in Mistral v0.1)
    }
  }
  flush();
  return ids;
}

}  // namespace nucleus

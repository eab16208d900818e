#include "text/chat_formatter.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "text/jinja/template.h"
#include "text/tokenizer.h"

namespace nucleus {
namespace {

using ojson = nlohmann::ordered_json;

std::string_view trim(std::string_view s) {
  const char* ws = " \t\n\r";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// A message string the template writes (a content or a reasoning), as the
// placeholder rendering locates it.
struct Protected {
  std::string text;
  std::string placeholder;
};

// U+2063 (invisible separator) around a number: text that no template writes
// and no string filter (trim, strip, upper...) changes.
std::string placeholder_of(size_t i) { return "\xE2\x81\xA3" "nucleus-content-" + std::to_string(i) + "\xE2\x81\xA3"; }

// The forms a template writes a content in: as given, trimmed, or only what
// follows the reasoning (Qwen3 and DeepSeek-R1 templates drop "...</think>").
std::vector<std::string_view> written_forms(std::string_view s) {
  std::vector<std::string_view> forms = {s, trim(s)};
  const size_t think = s.rfind("</think>");
  if (think != std::string_view::npos) {
    forms.push_back(s.substr(think + 8));
    forms.push_back(trim(s.substr(think + 8)));
  }
  return forms;
}

const std::string* special_inside(std::string_view s, const std::vector<std::string>& specials) {
  for (const std::string& sp : specials) {
    if (s.find(sp) != std::string_view::npos) return &sp;
  }
  return nullptr;
}

// Aligns the real rendering with the placeholder one: the text between
// placeholders must come back verbatim, and each placeholder stands for one
// written form of its string. Returns the ranges of the real text that are
// message strings, or nullopt when the two renderings do not line up (the
// template branches on a content's text).
std::optional<std::vector<std::pair<size_t, size_t>>> align(const std::string& real, const std::string& shaped,
                                                           const std::vector<Protected>& strings) {
  // The shaped text as pieces: literal text, or the index of a string.
  struct Piece {
    std::string_view literal;
    int string = -1;
  };
  std::vector<Piece> pieces;
  constexpr std::string_view kMark = "\xE2\x81\xA3" "nucleus-content-";
  size_t at = 0;
  while (at < shaped.size()) {
    const size_t next = shaped.find(kMark, at);
    if (next == std::string::npos) {
      pieces.push_back({std::string_view(shaped).substr(at)});
      break;
    }
    if (next > at) pieces.push_back({std::string_view(shaped).substr(at, next - at)});
    const size_t digits = next + kMark.size();
    const size_t close = shaped.find("\xE2\x81\xA3", digits);
    if (close == std::string::npos) return std::nullopt;
    const int index = std::stoi(shaped.substr(digits, close - digits));
    if (index < 0 || static_cast<size_t>(index) >= strings.size()) return std::nullopt;
    pieces.push_back({{}, index});
    at = close + 3;
  }
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t pos = 0;
  for (size_t p = 0; p < pieces.size(); ++p) {
    if (pieces[p].string < 0) {
      if (real.compare(pos, pieces[p].literal.size(), pieces[p].literal) != 0) return std::nullopt;
      pos += pieces[p].literal.size();
      continue;
    }
    const std::string_view after = p + 1 < pieces.size() ? pieces[p + 1].literal : std::string_view();
    bool placed = false;
    for (std::string_view form : written_forms(strings[static_cast<size_t>(pieces[p].string)].text)) {
      if (real.compare(pos, form.size(), form) != 0) continue;
      const size_t end = pos + form.size();
      const bool fits = p + 1 == pieces.size() ? end == real.size() : real.compare(end, after.size(), after) == 0;
      if (!fits) continue;
      if (!form.empty()) ranges.emplace_back(pos, end);
      pos = end;
      placed = true;
      break;
    }
    if (!placed) return std::nullopt;
  }
  if (pos != real.size()) return std::nullopt;
  return ranges;
}

// Whether a template loops over a message's content ({% for part in
// message['content'] %}, message.content, message.get('content'), or a
// variable set to one of those or named content), as vLLM's content-format
// detection finds the templates that take text parts as a list. A scan of
// the source (std::regex trips GCC 12's uninitialized warnings under ASan).
bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The expression after `word ` at `at` (up to a space, '%', '|' or a '-%'): "message['content']".
std::string_view expression_after(std::string_view source, size_t at) {
  const size_t end = source.find_first_of(" \t\n%|", at);
  std::string_view e = source.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
  if (!e.empty() && e.back() == '-') e.remove_suffix(1);
  return e;
}

bool is_content_access(std::string_view e) {
  for (std::string_view tail : {".content", "['content']", "[\"content\"]", ".get('content')", ".get(\"content\")"}) {
    if (e.size() > tail.size() && e.ends_with(tail)) {
      const std::string_view base = e.substr(0, e.size() - tail.size());
      return std::all_of(base.begin(), base.end(), is_identifier_char);
    }
  }
  return false;
}

// Each `keyword ` that starts a word in the source, with the position after it.
template <typename Fn>
void for_each_keyword(std::string_view source, std::string_view keyword, Fn fn) {
  for (size_t at = source.find(keyword); at != std::string_view::npos; at = source.find(keyword, at + 1)) {
    if (at > 0 && is_identifier_char(source[at - 1])) continue;
    fn(at + keyword.size());
  }
}

bool loops_over_content(std::string_view source) {
  std::vector<std::string_view> iterables = {"content"};
  for_each_keyword(source, "set ", [&](size_t at) {  // set NAME = message['content']
    while (at < source.size() && source[at] == ' ') ++at;
    size_t name_end = at;
    while (name_end < source.size() && is_identifier_char(source[name_end])) ++name_end;
    size_t eq = name_end;
    while (eq < source.size() && source[eq] == ' ') ++eq;
    if (name_end == at || eq >= source.size() || source[eq] != '=') return;
    size_t value = eq + 1;
    while (value < source.size() && source[value] == ' ') ++value;
    if (is_content_access(expression_after(source, value))) iterables.push_back(source.substr(at, name_end - at));
  });
  bool loops = false;
  for_each_keyword(source, "for ", [&](size_t at) {  // for PART in ITERABLE
    const size_t in = source.find(" in ", at);
    if (in == std::string_view::npos || in > at + 64) return;
    const std::string_view e = expression_after(source, in + 4);
    loops = loops || is_content_access(e) || std::find(iterables.begin(), iterables.end(), e) != iterables.end();
  });
  return loops;
}

// Whether the messages have anything MessageShape changes.
bool uses_shape(const std::vector<ChatMessage>& messages) {
  for (const ChatMessage& m : messages) {
    if (m.content_is_null || !m.tool_calls.empty()) return true;
  }
  return false;
}

ojson tool_call_json(const ChatToolCall& call, bool object_arguments) {
  ojson arguments = call.arguments;
  if (object_arguments) {
    ojson parsed = ojson::parse(call.arguments, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) arguments = std::move(parsed);
  }
  return {{"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", arguments}}}};
}

// The messages rewritten for a template without tool support (see the
// header). The tools are described in the system message, or, `in_user`
// (for a template that refuses a system role the client never sent, as
// Gemma 2's does), at the start of the first user message.
// A message in the system role: "system", or "developer" as sent to a template that names it.
bool is_system(const ChatMessage& m) { return m.role == "system" || m.role == "developer"; }

std::vector<ChatMessage> with_tools_in_text(const std::vector<ChatMessage>& messages, const ojson& tools,
                                            bool in_user = false) {
  std::vector<ChatMessage> out;
  std::string described;
  if (tools.is_array() && !tools.empty()) {
    described = "You can call these functions (OpenAI tool format):\n" + tools.dump(2) +
                "\nTo call functions, answer with JSON only: {\"tool_calls\": [{\"name\": \"<function name>\", "
                "\"arguments\": {<arguments>}}]}";
    if (!messages.empty() && is_system(messages.front())) {
      out.push_back(messages.front());
      out.back().content += "\n\n" + described;
      out.back().parts.clear();  // the content is rewritten: the template gets it whole
      described.clear();
    } else if (!in_user) {
      out.emplace_back("system", described);
      described.clear();
    } else if (messages.empty() || messages.front().role != "user") {
      out.emplace_back("user", described);
      described.clear();
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i == 0 && !out.empty() && is_system(messages[i])) continue;  // already taken, with the tools
    if (i == 0 && !described.empty()) {  // in_user: the first message is the user's
      ChatMessage m = messages[0];
      m.content = described + "\n\n" + m.content;
      m.parts.clear();
      out.push_back(std::move(m));
      continue;
    }
    ChatMessage m = messages[i];
    if (!m.tool_calls.empty()) {
      ojson calls = ojson::array();
      for (const ChatToolCall& c : m.tool_calls) {
        ojson arguments = ojson::parse(c.arguments, nullptr, false);
        if (arguments.is_discarded()) arguments = c.arguments;
        calls.push_back({{"name", c.name}, {"arguments", arguments}});
        if (!c.id.empty()) calls.back()["id"] = c.id;
      }
      m.content = (m.content.empty() ? "" : m.content + "\n") + ojson{{"tool_calls", calls}}.dump();
      m.parts.clear();
      m.content_is_null = false;
      m.tool_calls.clear();
    } else if (m.role == "tool") {
      ojson response = {{"content", m.content}};
      if (!m.name.empty()) response["tool"] = m.name;
      if (!m.tool_call_id.empty()) response["tool_call_id"] = m.tool_call_id;
      m = ChatMessage("user", ojson{{"tool_response", response}}.dump());
    } else if (m.content_is_null) {
      m.content_is_null = false;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

TemplateTokens TemplateTokens::of(const Tokenizer& tokenizer) {
  TemplateTokens t;
  if (tokenizer.bos_id() >= 0) t.bos = tokenizer.token_text(tokenizer.bos_id());
  if (tokenizer.eos_id() >= 0) t.eos = tokenizer.token_text(tokenizer.eos_id());
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (tokenizer.is_special(id) && !tokenizer.token_text(id).empty()) t.specials.push_back(tokenizer.token_text(id));
  }
  // Longest first: where two special tokens start at one place, the longer one is meant.
  std::stable_sort(t.specials.begin(), t.specials.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return t;
}

ChatFormatter::ChatFormatter(ChatTemplate builtin) : builtin_(std::move(builtin)) {}

ChatFormatter ChatFormatter::jinja(const std::string& source, TemplateTokens tokens, std::string name) {
  ChatFormatter f;
  f.jinja_ = std::make_shared<const jinja::Template>(jinja::Template::parse(source));
  f.source_ = source;
  f.name_ = std::move(name);
  f.tokens_ = std::move(tokens);
  f.knows_tools_ = source.find("tool") != std::string::npos;
  f.loops_over_content_ = loops_over_content(source);
  return f;
}

std::string ChatFormatter::name() const { return builtin_ ? builtin_->name() : "jinja (" + name_ + ")"; }

ojson chat_template_context(const std::vector<ChatMessage>& messages, const ChatRenderOptions& options,
                            const TemplateTokens& tokens, MessageShape shape) {
  ojson list = ojson::array();
  for (const ChatMessage& m : messages) {
    ojson j = {{"role", m.role}};
    if (shape.content_parts && !m.parts.empty()) {
      ojson parts = ojson::array();
      for (const std::string& p : m.parts) parts.push_back({{"type", "text"}, {"text", p}});
      j["content"] = std::move(parts);
    } else {
      j["content"] = m.content_is_null && shape.null_content ? ojson(nullptr) : ojson(m.content);
    }
    if (!m.reasoning_content.empty()) j["reasoning_content"] = m.reasoning_content;
    if (!m.tool_calls.empty()) {
      ojson calls = ojson::array();
      for (const ChatToolCall& c : m.tool_calls) calls.push_back(tool_call_json(c, shape.object_arguments));
      j["tool_calls"] = std::move(calls);
    }
    if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
    if (!m.name.empty()) j["name"] = m.name;
    list.push_back(std::move(j));
  }
  ojson ctx = {{"messages", std::move(list)},
               {"tools", options.tools.is_array() ? options.tools : ojson(nullptr)},  // [] as given, as vLLM passes it
               {"documents", nullptr},
               {"add_generation_prompt", options.add_generation_prompt},
               {"bos_token", tokens.bos},
               {"eos_token", tokens.eos}};
  if (options.kwargs.is_object()) {
    for (const auto& [key, value] : options.kwargs.items()) ctx[key] = value;
  }
  return ctx;
}

RenderedChat ChatFormatter::render(const std::vector<ChatMessage>& given, const ChatRenderOptions& options) const {
  // OpenAI's "developer" role is the system role for templates that do not
  // name it (most; a ChatML template would write "<|im_start|>developer", a
  // turn its model never saw); templates that do (Gemma 4, DeepSeek V4...)
  // get it as sent, as transformers and vLLM give it.
  std::vector<ChatMessage> renamed;
  const bool knows_developer = !builtin_ && source_.find("developer") != std::string::npos;
  if (!knows_developer && std::any_of(given.begin(), given.end(), [](const ChatMessage& m) { return m.role == "developer"; })) {
    renamed = given;
    for (ChatMessage& m : renamed) {
      if (m.role == "developer") m.role = "system";
    }
  }
  const std::vector<ChatMessage>& messages = renamed.empty() ? given : renamed;
  RenderedChat out;
  if (builtin_) {
    if (options.tools.is_array() && !options.tools.empty()) {
      throw ToolsNotRenderable("the built-in chat template '" + builtin_->name() +
                                 "' cannot describe tools; serve the model's own Jinja template (the default) or "
                                  "one given with --chat-template FILE.jinja");
    }
    for (const ChatMessage& m : messages) {
      if (m.role == "tool" || !m.tool_calls.empty()) {
        throw std::invalid_argument("the built-in chat template '" + builtin_->name() +
                                    "' cannot render tool calls or tool results; serve the model's own Jinja template");
      }
    }
    out.segments = builtin_->render(messages, options.add_generation_prompt);
    for (const TemplateSegment& s : out.segments) out.text += s.text;
    return out;
  }

  if (!knows_tools_ && (uses_shape(messages) || (options.tools.is_array() && !options.tools.empty()) ||
                       std::any_of(messages.begin(), messages.end(), [](const ChatMessage& m) { return m.role == "tool"; }))) {
    ChatRenderOptions without = options;
    without.tools = nullptr;
    const bool adds_system = options.tools.is_array() && !options.tools.empty() &&
                             (messages.empty() || !is_system(messages.front()));
    try {
      return render_jinja(with_tools_in_text(messages, options.tools), without);
    } catch (const jinja::RaisedException&) {
      // The template refused something; when it may be the system message
      // only we added, the tools go in the first user message instead.
      if (!adds_system) throw;
      return render_jinja(with_tools_in_text(messages, options.tools, /*in_user=*/true), without);
    }
  }
  return render_jinja(messages, options);
}

RenderedChat ChatFormatter::render_jinja(const std::vector<ChatMessage>& messages,
                                         const ChatRenderOptions& options) const {
  RenderedChat out;
  jinja::RenderOptions render_options;
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  render_options.now = local;  // both renderings below see the same date
  // The first message shape the template renders (MessageShape); a template's
  // own raise_exception is its answer, not a shape problem.
  constexpr MessageShape kShapes[] = {{true, true}, {true, false}, {false, true}, {false, false}};
  MessageShape shape;
  for (size_t i = 0; i < std::size(kShapes); ++i) {
    shape = kShapes[i];
    shape.content_parts = loops_over_content_;
    try {
      out.text = jinja_->render(chat_template_context(messages, options, tokens_, shape), render_options);
      break;
    } catch (const jinja::RaisedException&) {
      throw;
    } catch (const jinja::TemplateError&) {
      if (i + 1 == std::size(kShapes) || !uses_shape(messages)) throw;
    }
  }

  // Only a message string holding special-token text needs locating; without
  // one, splitting the whole text at special tokens is exactly what HF and
  // llama.cpp do.
  std::vector<Protected> strings;
  bool needs_protection = false;
  std::vector<ChatMessage> shaped = messages;
  for (ChatMessage& m : shaped) {
    std::vector<std::string*> texts = {&m.content, &m.reasoning_content};
    for (std::string& part : m.parts) texts.push_back(&part);
    for (std::string* s : texts) {
      if (s->empty()) continue;
      needs_protection = needs_protection || special_inside(*s, tokens_.specials) != nullptr;
      strings.push_back({*s, placeholder_of(strings.size())});
      *s = strings.back().placeholder;
    }
  }
  std::vector<std::pair<size_t, size_t>> plain;
  if (needs_protection) {
    const std::string shaped_text =
        jinja_->render(chat_template_context(shaped, options, tokens_, shape), render_options);
    auto ranges = align(out.text, shaped_text, strings);
    if (!ranges) {
      for (size_t i = 0; i < messages.size(); ++i) {
        if (const std::string* sp = special_inside(messages[i].content, tokens_.specials)) {
          throw std::invalid_argument("messages[" + std::to_string(i) + "].content holds the special token text '" +
                                      *sp + "', and this chat template changes the content too much to keep it "
                                      "apart from the template's own tokens");
        }
      }
      throw std::invalid_argument(
          "a message's reasoning_content holds special token text that the chat template does not keep apart");
    }
    plain = std::move(*ranges);
  }
  out.segments = split_at_special_tokens(out.text, plain, tokens_.specials);
  return out;
}

std::vector<TemplateSegment> split_at_special_tokens(const std::string& text,
                                                     const std::vector<std::pair<size_t, size_t>>& plain,
                                                     const std::vector<std::string>& specials) {
  std::vector<TemplateSegment> out;
  auto add_text = [&](std::string_view s) {
    if (s.empty()) return;
    if (!out.empty() && !out.back().special) {
      out.back().text += s;
    } else {
      out.push_back({std::string(s), false});
    }
  };
  // Special tokens grouped by first byte, longest first within each group.
  std::vector<std::vector<const std::string*>> by_first(256);
  for (const std::string& sp : specials) by_first[static_cast<uint8_t>(sp[0])].push_back(&sp);
  size_t pos = 0, next_plain = 0;
  std::string_view all(text);
  while (pos < text.size()) {
    if (next_plain < plain.size() && pos >= plain[next_plain].first) {
      const size_t end = plain[next_plain].second;
      add_text(all.substr(pos, end - pos));
      pos = end;
      ++next_plain;
      continue;
    }
    const size_t limit = next_plain < plain.size() ? plain[next_plain].first : text.size();
    const std::string* found = nullptr;
    for (const std::string* sp : by_first[static_cast<uint8_t>(text[pos])]) {
      if (pos + sp->size() <= limit && all.compare(pos, sp->size(), *sp) == 0) {
        found = sp;
        break;
      }
    }
    if (found) {
      out.push_back({*found, true});
      pos += found->size();
    } else {
      add_text(all.substr(pos, 1));
      ++pos;
    }
  }
  return out;
}

}  // namespace nucleus

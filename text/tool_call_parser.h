// Tool calls in model output, for the OpenAI API's `tool_calls`. Each model
// family writes calls its own way (see ToolCallFormat); the format is picked
// from the chat template. Text outside the calls stays content, trimmed of
// surrounding whitespace as llama.cpp does. A call whose JSON is malformed is
// not a call: its text stays content. Nothing here throws on model output.
//
// Ids: a call that carries its own id (Mistral) keeps it; the others get
// "call_" + 24 letters and digits drawn from `id_seed` (ToolCallIdSource), so a
// given seed always gives the same ids, and a stream and a whole parse of the
// same text with the same seed agree on them.
//
// With a reasoning model, split the reasoning out first (reasoning_parser.h)
// and give these parsers only the content.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // the JSON object text as the model wrote it, trimmed
};

enum class ToolCallFormat {
  kHermes,          // <tool_call>{"name": ..., "arguments": {...}}</tool_call> (Hermes 2/3, Qwen 2.5/3)
  kLlama3,          // {"name": ..., "parameters": {...}} as the whole answer, or after <|python_tag|>
  kMistral,         // [TOOL_CALLS][{...}, ...] or [TOOL_CALLS]name[CALL_ID]id[ARGS]{...}
  kFunctionaryV3,   // functionary v3.2: >>>name\n{...} segments, >>>all\n for text
  kFunctionaryV31,  // functionary v3.1: <function=name>{...}</function>
  kGeneric,         // the whole answer is {"tool_call": ...}, {"tool_calls": [...]} or {"name", "arguments"}
  kQwen3Coder,      // <tool_call><function=name><parameter=key>value</parameter></function></tool_call>
                    // (Qwen3-Coder, Qwen3.5, Nemotron 3 Nano); values typed by guess, see tool_call_scan_xml.cc
  kGlm45,           // <tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
                    // (GLM 4.5-4.7, Ling 3, Laguna, Spark 2.5); values typed as for kQwen3Coder
};

// Picks the format from a chat template's Jinja source by the markers it
// writes; kGeneric when none is recognised.
ToolCallFormat detect_tool_call_format(std::string_view template_source);
std::string_view tool_call_format_name(ToolCallFormat format);
// The inverse of tool_call_format_name; nullopt for an unknown name.
std::optional<ToolCallFormat> parse_tool_call_format(std::string_view name);

struct ParsedOutput {
  std::string content;
  std::vector<ToolCall> tool_calls;
};

// The whole output at once.
ParsedOutput parse_tool_calls(ToolCallFormat format, std::string_view text, uint64_t id_seed);

// Streaming, in OpenAI's delta shape. Each call is sent as one delta once it
// is known to be a call (its JSON complete and valid): index, id, name and the
// whole arguments text together. (Sending argument fragments earlier would
// announce calls that may still turn out malformed, which the whole parse
// leaves as content; the two must agree.) Content is sent as it is known not to be part
// of a call; text that may still be the start of a call is held back, as is
// trailing whitespace (the content is trimmed) and an incomplete UTF-8
// character. Feeding any split of a text and then finish() gives exactly what
// parse_tool_calls gives for the whole text.
struct ToolCallDelta {
  int index = 0;
  std::string id;    // only in a call's first delta
  std::string name;  // only in a call's first delta
  std::string arguments;
};
struct StreamDelta {
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && tool_calls.empty(); }
};

class ToolCallStreamParser {
 public:
  ToolCallStreamParser(ToolCallFormat format, uint64_t id_seed);
  ~ToolCallStreamParser();
  ToolCallStreamParser(ToolCallStreamParser&&) noexcept;
  ToolCallStreamParser& operator=(ToolCallStreamParser&&) noexcept;

  StreamDelta feed(std::string_view text);
  // End of generation: what was held back is decided. An unterminated call
  // whose JSON is complete is a call; anything else held back is content.
  StreamDelta finish();
  // True once any call was sent: the finish_reason is then "tool_calls".
  bool saw_tool_call() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nucleus

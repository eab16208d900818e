// A chat choice's output as the API shows it: reasoning split out into
// `reasoning_content` (text/reasoning_parser.h), tool calls parsed into
// `tool_calls` (text/tool_call_parser.h, or a forced call's JSON read back,
// chat_tools.h), the rest `content`. Whole for a response written at the end,
// or delta by delta for a stream; both give the same message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/chat_tools.h"
#include "text/reasoning_parser.h"
#include "text/tool_call_id.h"
#include "text/tool_call_parser.h"

namespace nucleus::server {

// What a request's chat outputs go through; shared by its choices.
struct ChatOutputPlan {
  bool split_reasoning = false;       // the template thinks in <think> and --reasoning-format is not none
  bool started_in_reasoning = false;  // the prompt ends inside "<think>"
  ChatTools tools;                    // choice kNone: no tool parsing
  ToolCallFormat format = ToolCallFormat::kGeneric;  // for tool_choice auto
  uint64_t id_seed = 0;               // tool call ids: choice c draws from id_seed + c

  // Nothing to parse: the output is the content as generated.
  bool plain() const { return !split_reasoning && tools.choice == ToolChoice::kNone; }
};

struct ChatMessageOut {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;
};
ChatMessageOut parse_chat_output(const ChatOutputPlan& plan, const std::string& text, int choice);

struct ChatDelta {
  std::string reasoning;
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

class ChatOutputStream {
 public:
  ChatOutputStream(std::shared_ptr<const ChatOutputPlan> plan, int choice);
  ChatDelta feed(const std::string& text);
  ChatDelta finish();
  bool saw_tool_call() const { return calls_ > 0; }

 private:
  void route_content(const std::string& text, bool at_end, ChatDelta& out);
  // A forced call's new parts: each call's id and name once, then its new argument text.
  void forced_parts(bool at_end, ChatDelta& out);

  std::shared_ptr<const ChatOutputPlan> plan_;
  int choice_;
  std::optional<ReasoningStreamSplitter> reasoning_;
  std::optional<ToolCallStreamParser> parser_;  // tool_choice auto
  std::string forced_;                          // a forced call's text so far
  std::vector<size_t> forced_sent_;             // per call: argument bytes sent
  std::optional<ToolCallIdSource> ids_;
  int calls_ = 0;
};

}  // namespace nucleus::server

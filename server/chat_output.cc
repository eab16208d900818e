#include "server/chat_output.h"

namespace nucleus::server {

ChatMessageOut parse_chat_output(const ChatOutputPlan& plan, const std::string& text, int choice) {
  ChatMessageOut out;
  const uint64_t seed = plan.id_seed + static_cast<uint64_t>(choice);
  if (plan.tools.forced()) {  // the grammar leaves no room for reasoning or prose
    // Cut short before a call's name ends: no call yet, and the text is the
    // grammar's scaffold ("[{\"na"), which is no answer either: the content
    // stays empty and finish_reason "length" says why (vLLM's stream sends
    // nothing then too).
    out.tool_calls = read_forced_calls(plan.tools, text, seed);
    return out;
  }
  std::string content = text;
  if (plan.split_reasoning) {
    ReasoningSplit split = split_reasoning(text, plan.started_in_reasoning);
    out.reasoning = std::move(split.reasoning);
    content = std::move(split.content);
  }
  if (plan.tools.choice == ToolChoice::kAuto) {
    ParsedOutput parsed = parse_tool_calls(plan.format, content, seed);
    out.content = std::move(parsed.content);
    out.tool_calls = std::move(parsed.tool_calls);
    // parallel_tool_calls false: "zero or one" call (OpenAI), whatever the model wrote.
    if (!plan.tools.parallel && out.tool_calls.size() > 1) out.tool_calls.resize(1);
  } else {
    out.content = std::move(content);
  }
  return out;
}

ChatOutputStream::ChatOutputStream(std::shared_ptr<const ChatOutputPlan> plan, int choice)
    : plan_(std::move(plan)), choice_(choice) {
  if (plan_->tools.forced()) {
    ids_.emplace(plan_->id_seed + static_cast<uint64_t>(choice_), plan_->tools.id_style);
    return;
  }
  if (plan_->split_reasoning) reasoning_.emplace(plan_->started_in_reasoning);
  if (plan_->tools.choice == ToolChoice::kAuto) {
    parser_.emplace(plan_->format, plan_->id_seed + static_cast<uint64_t>(choice_));
  }
}

void ChatOutputStream::route_content(const std::string& text, bool at_end, ChatDelta& out) {
  if (!parser_) {
    out.content += text;
    return;
  }
  StreamDelta d = parser_->feed(text);
  if (at_end) {
    StreamDelta rest = parser_->finish();
    d.content += rest.content;
    for (ToolCallDelta& c : rest.tool_calls) d.tool_calls.push_back(std::move(c));
  }
  out.content += d.content;
  for (ToolCallDelta& c : d.tool_calls) {
    if (!plan_->tools.parallel && c.index > 0) continue;  // parallel_tool_calls false: the first call only
    if (!c.name.empty()) {
      // OpenAI's first delta of a call carries arguments "": the parser's
      // whole call goes out as that header, then its arguments.
      ++calls_;
      out.tool_calls.push_back({c.index, std::move(c.id), std::move(c.name), ""});
      if (!c.arguments.empty()) out.tool_calls.push_back({c.index, "", "", std::move(c.arguments)});
      continue;
    }
    out.tool_calls.push_back(std::move(c));
  }
}

void ChatOutputStream::forced_parts(bool at_end, ChatDelta& out) {
  std::vector<ForcedCall> calls = scan_forced_calls(plan_->tools, forced_);
  if (plan_->tools.choice == ToolChoice::kNamed && at_end && calls[0].arguments.empty()) calls[0].arguments = "{}";
  for (size_t i = 0; i < calls.size(); ++i) {
    const int index = static_cast<int>(i);
    if (i >= forced_sent_.size()) {
      if (plan_->tools.choice == ToolChoice::kNamed && calls[i].arguments.empty() && !at_end) return;
      // OpenAI's first delta of a call: index, id, type and name, arguments "".
      out.tool_calls.push_back({index, ids_->next(), calls[i].name, ""});
      forced_sent_.push_back(0);
      ++calls_;
    }
    if (calls[i].arguments.size() > forced_sent_[i]) {
      out.tool_calls.push_back({index, "", "", calls[i].arguments.substr(forced_sent_[i])});
      forced_sent_[i] = calls[i].arguments.size();
    }
  }
}

ChatDelta ChatOutputStream::feed(const std::string& text) {
  ChatDelta out;
  if (plan_->tools.forced()) {
    forced_ += text;
    forced_parts(false, out);
    return out;
  }
  if (reasoning_) {
    ReasoningSplit split = reasoning_->feed(text);
    out.reasoning = std::move(split.reasoning);
    route_content(split.content, false, out);
  } else {
    route_content(text, false, out);
  }
  return out;
}

ChatDelta ChatOutputStream::finish() {
  ChatDelta out;
  if (plan_->tools.forced()) {
    forced_parts(true, out);  // text before a call's name ends is no content (parse_chat_output)
    return out;
  }
  if (reasoning_) {
    ReasoningSplit split = reasoning_->finish();
    out.reasoning = std::move(split.reasoning);
    route_content(split.content, true, out);
  } else {
    route_content("", true, out);
  }
  return out;
}

}  // namespace nucleus::server

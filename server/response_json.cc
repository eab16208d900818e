#include "server/response_json.h"

#include <algorithm>

#include "text/unicode_utf8.h"

namespace nucleus::server {

using json = ResponseJson;

namespace {

// A token's text in logprobs: its own bytes, with U+FFFD where a piece ends
// inside a UTF-8 character (its `bytes` keep the real bytes, so a client can
// join a character split over tokens, as OpenAI and llama.cpp intend).
std::string token_text(const Tokenizer& tok, int32_t id) { return unicode::to_valid_utf8(tok.token_to_piece(id)); }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

// Chat's layout: {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...]}.
json chat_logprobs_json(const Tokenizer& tok, std::span<const TokenLogprob> lps) {
  json content = json::array();
  for (const TokenLogprob& lp : lps) {
    const std::string t = token_text(tok, lp.token);
    json top = json::array();
    for (const TopLogprob& alt : lp.top) {
      const std::string at = token_text(tok, alt.token);
      top.push_back({{"token", at}, {"logprob", alt.logprob}, {"bytes", bytes_of(tok.token_to_piece(alt.token))}});
    }
    content.push_back({{"token", t},
                       {"logprob", lp.logprob},
                       {"bytes", bytes_of(tok.token_to_piece(lp.token))},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// The legacy completions layout: parallel arrays tokens, token_logprobs, top_logprobs, text_offset.
json legacy_logprobs_json(const Tokenizer& tok, std::span<const TokenLogprob> lps, TextOffsets& offsets) {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), text_offset = json::array();
  for (const TokenLogprob& lp : lps) {
    const std::string t = token_text(tok, lp.token);
    tokens.push_back(t);
    token_logprobs.push_back(lp.logprob);
    json alts = json::object();
    for (const TopLogprob& alt : lp.top) alts[token_text(tok, alt.token)] = alt.logprob;
    if (!lp.top.empty()) alts[t] = lp.logprob;  // as vLLM: the sampled token is always among the alternatives
    top.push_back(alts);
    text_offset.push_back(offsets.next(tok.token_to_piece(lp.token)));
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", text_offset}};
}

}  // namespace

json usage_json(const Usage& u) {
  json j = {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_prompt_tokens > 0) j["prompt_tokens_details"] = {{"cached_tokens", u.cached_prompt_tokens}};
  return j;
}

json finish_json(FinishReason f) { return f == FinishReason::kNone ? json(nullptr) : json(finish_reason_name(f)); }

namespace {

// A choice that called tools finishes with "tool_calls" (unless it ran out of tokens).
json chat_finish_json(FinishReason f, bool tool_calls) {
  return tool_calls && f == FinishReason::kStop ? json("tool_calls") : finish_json(f);
}

json tool_call_delta_json(const ToolCallDelta& c) {
  json j = {{"index", c.index}};
  json function = json::object();
  if (!c.id.empty()) {
    j["id"] = c.id;
    j["type"] = "function";
    function["name"] = c.name;
  }
  function["arguments"] = c.arguments;
  j["function"] = std::move(function);
  return j;
}

}  // namespace

// A stop string stays a string even when it is all digits (stop "2" is "2"),
// and is never converted to a number: only a token id is.
json stop_reason_json(const SequenceDelta& d) {
  if (d.stop_reason.empty()) return nullptr;
  if (d.stop_reason_is_token) return std::stoll(d.stop_reason);  // the engine's std::to_string of an int32 id
  return d.stop_reason;
}

json logprobs_json(const ResponseShape& shape, const Tokenizer& tok, std::span<const TokenLogprob> lps,
                   TextOffsets& offsets) {
  return shape.chat ? chat_logprobs_json(tok, lps) : legacy_logprobs_json(tok, lps, offsets);
}

json echo_logprobs_json(const ResponseShape& shape, const Tokenizer& tok, const std::vector<int32_t>& ids,
                        const std::vector<TokenLogprob>& lps, const json& completion) {
  json out = {{"tokens", json::array()},
              {"token_logprobs", json::array()},
              {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  auto append = [&out](const json& part) {
    for (const char* key : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
      for (const json& v : part[key]) out[key].push_back(v);
    }
  };
  TextOffsets offsets;
  auto unscored = [&](int32_t id) {
    out["tokens"].push_back(token_text(tok, id));
    out["token_logprobs"].push_back(nullptr);
    out["top_logprobs"].push_back(nullptr);
    out["text_offset"].push_back(offsets.next(tok.token_to_piece(id)));
  };
  const size_t scored = ids.empty() ? 0 : std::min(lps.size(), ids.size() - 1);
  if (!ids.empty()) unscored(ids[0]);
  append(logprobs_json(shape, tok, std::span<const TokenLogprob>(lps).first(scored), offsets));
  for (size_t i = scored + 1; i < ids.size(); ++i) unscored(ids[i]);
  if (completion.is_object()) append(completion);
  return out;
}

json stream_chunk(const ResponseShape& shape, const Tokenizer& tok, const ResponseIds& ids, int choice,
                  const SequenceDelta& d, bool first_of_choice, TextOffsets& offsets,
                  const std::vector<TokenLogprob>* echo_prompt_logprobs, ParsedDelta parsed) {
  json c = {{"index", choice}};
  if (shape.chat) {
    json delta = json::object();
    if (first_of_choice) delta["role"] = "assistant";
    if (parsed.parts) {
      if (!parsed.parts->reasoning.empty()) delta["reasoning_content"] = parsed.parts->reasoning;
      if (!parsed.parts->content.empty() || (first_of_choice && parsed.parts->tool_calls.empty())) {
        delta["content"] = parsed.parts->content;
      }
      if (!parsed.parts->tool_calls.empty()) {
        json calls = json::array();
        for (const ToolCallDelta& tc : parsed.parts->tool_calls) calls.push_back(tool_call_delta_json(tc));
        delta["tool_calls"] = std::move(calls);
      }
    } else {
      delta["content"] = d.text;
    }
    c["delta"] = delta;
  } else {
    c["text"] = d.text;
  }
  c["logprobs"] = d.logprobs.empty() ? json(nullptr) : logprobs_json(shape, tok, d.logprobs, offsets);
  if (echo_prompt_logprobs) {
    const int prompt = choice / shape.n;
    c["logprobs"] = echo_logprobs_json(shape, tok, shape.echo_ids[prompt], *echo_prompt_logprobs, c["logprobs"]);
  }
  c["finish_reason"] = chat_finish_json(d.finish, parsed.tool_calls);
  if (d.finish != FinishReason::kNone) c["stop_reason"] = stop_reason_json(d);
  return {
      {"id", ids.id},       {"object", shape.chunk_object},
      {"created", ids.created}, {"model", ids.model},
      {"system_fingerprint", ids.system_fingerprint}, {"choices", {c}}};
}

json usage_chunk(const ResponseShape& shape, const ResponseIds& ids, const Usage& usage) {
  return {{"id", ids.id},       {"object", shape.chunk_object}, {"created", ids.created},
          {"model", ids.model}, {"system_fingerprint", ids.system_fingerprint},
          {"choices", json::array()}, {"usage", usage_json(usage)}};
}

json final_choice_json(const ResponseShape& shape, const Tokenizer& tok, const ChoiceState& c, int index, int prompt,
                       const std::vector<TokenLogprob>& prompt_logprobs) {
  json choice = {{"index", index}};
  const std::string prefix = shape.echo_prefix.empty() ? "" : shape.echo_prefix[prompt];
  bool called = false;
  if (shape.chat && shape.chat_output) {
    const ChatMessageOut m = parse_chat_output(*shape.chat_output, c.text, index);
    json message = {{"role", "assistant"}};
    // null beside tool calls, and for a forced call cut before its name (no content can come then).
    const bool no_content = m.content.empty() && (!m.tool_calls.empty() || shape.chat_output->tools.forced());
    message["content"] = no_content ? json(nullptr) : json(m.content);
    if (!m.reasoning.empty()) message["reasoning_content"] = m.reasoning;
    if (!m.tool_calls.empty()) {
      json calls = json::array();
      for (const ToolCall& tc : m.tool_calls) {
        calls.push_back({{"id", tc.id},
                         {"type", "function"},
                         {"function", {{"name", tc.name}, {"arguments", tc.arguments}}}});
      }
      message["tool_calls"] = std::move(calls);
      called = true;
    }
    choice["message"] = std::move(message);
  } else if (shape.chat) {
    choice["message"] = {{"role", "assistant"}, {"content", c.text}};
  } else {
    choice["text"] = prefix + c.text;
  }
  TextOffsets offsets(TextOffsets::characters(prefix));  // the generated text follows an echoed prompt
  choice["logprobs"] =
      c.logprobs.empty() || !shape.logprobs ? json(nullptr) : logprobs_json(shape, tok, c.logprobs, offsets);
  if (shape.echo_logprobs) {
    choice["logprobs"] = echo_logprobs_json(shape, tok, shape.echo_ids[prompt], prompt_logprobs, choice["logprobs"]);
  }
  if (shape.beam) {
    // The ranking key, always present: the sum of the token logprobs and
    // that sum over length^length_penalty (engine/beam_search.h).
    if (choice["logprobs"].is_null()) choice["logprobs"] = json::object();
    choice["logprobs"]["cumulative_logprob"] = *c.cumulative_logprob;
    choice["logprobs"]["beam_score"] = *c.beam_score;
  }
  choice["finish_reason"] = chat_finish_json(c.finish, called);
  choice["stop_reason"] = stop_reason_json(c.last);
  if (!shape.chat && !shape.prompt_logprobs_ids.empty()) {
    choice["prompt_logprobs"] = prompt_logprobs_json(tok, shape.prompt_logprobs_ids[prompt], prompt_logprobs);
  }
  return choice;
}

json prompt_logprobs_json(const Tokenizer& tok, const std::vector<int32_t>& ids, const std::vector<TokenLogprob>& lps) {
  json out = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 || i - 1 >= lps.size()) {
      out.push_back(nullptr);
      continue;
    }
    const TokenLogprob& lp = lps[i - 1];
    json entry = json::object();
    entry[std::to_string(lp.token)] = {{"logprob", lp.logprob}, {"rank", lp.rank},
                                       {"decoded_token", token_text(tok, lp.token)}};
    for (size_t r = 0; r < lp.top.size(); ++r) {
      const std::string key = std::to_string(lp.top[r].token);
      if (entry.contains(key)) continue;
      entry[key] = {{"logprob", lp.top[r].logprob}, {"rank", static_cast<int>(r) + 1},
                    {"decoded_token", token_text(tok, lp.top[r].token)}};
    }
    out.push_back(std::move(entry));
  }
  return out;
}

json response_json(const ResponseShape& shape, const ResponseIds& ids, json choices, const Usage& usage) {
  return {{"id", ids.id},       {"object", shape.object},        {"created", ids.created},
          {"model", ids.model}, {"system_fingerprint", ids.system_fingerprint},
          {"choices", std::move(choices)}, {"usage", usage_json(usage)}};
}

}  // namespace nucleus::server

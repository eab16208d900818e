// The JSON a generating route answers with, in OpenAI's shapes (and vLLM's
// extras): streamed chunks, the final choices, logprobs in the chat and the
// legacy completions layouts, usage, finish and stop reasons.
//
// Beam search (use_beam_search, engine/beam_search.h): each choice's
// `logprobs` object always carries `cumulative_logprob` (the sum of its
// tokens' logprobs, a final EOS included) and `beam_score` (that sum over
// length^length_penalty, the ranking key; length = prompt + output tokens, a
// final EOS or stop id not counted), beside the per-token entries when
// logprobs were asked for.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/choices.h"
#include "server/text_offsets.h"
#include "text/tokenizer.h"

namespace nucleus::server {

// Response bodies keep their keys in the order written (OpenAI's order: id,
// object, created, model, choices, usage), and a completions top_logprobs
// object its tokens most likely first, as OpenAI and vLLM list them.
using ResponseJson = nlohmann::ordered_json;

// What every chunk and response object of one request carries.
struct ResponseIds {
  std::string id;       // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
  std::string system_fingerprint;  // server/system_fingerprint.h
};

ResponseJson usage_json(const Usage& u);
// The finish reason's name, or null while the choice runs.
ResponseJson finish_json(FinishReason f);
// A stop token id as an integer, a stop string as a string, null for EOS or length (as vLLM).
ResponseJson stop_reason_json(const SequenceDelta& d);

// Logprobs of a run of tokens in the route's shape; `offsets` (completions)
// gives each token's text_offset and moves past the run.
ResponseJson logprobs_json(const ResponseShape& shape, const Tokenizer& tok, std::span<const TokenLogprob> lps,
                             TextOffsets& offsets);

// Echo with logprobs: the prompt's tokens `ids` lead the legacy arrays,
// scored by `lps` (lps[i - 1] is ids[i]'s entry); text_offset counts from the
// start of the echoed prompt. Null entries: the first token (nothing predicts
// it) and, when the request ended before its prompt was scored (an abort at
// shutdown), the rest of the prompt. `completion` (this choice's own tokens,
// or null) is appended.
ResponseJson echo_logprobs_json(const ResponseShape& shape, const Tokenizer& tok, const std::vector<int32_t>& ids,
                                  const std::vector<TokenLogprob>& lps, const ResponseJson& completion);

// One streamed chunk of choice `choice` carrying delta `d`. `offsets`: the
// choice's text_offset counter (completions logprobs). `echo_prompt_logprobs`:
// set on a completions choice's first chunk when echo and logprobs were
// asked; the echoed prompt's logprobs lead the chunk's.
// `parsed`: chat with an output plan, the delta's parts (reasoning, content,
// tool calls) in place of its text, and `tool_calls` the choice has made calls
// (its finish_reason is then "tool_calls").
struct ParsedDelta {
  const ChatDelta* parts = nullptr;
  bool tool_calls = false;
};
ResponseJson stream_chunk(const ResponseShape& shape, const Tokenizer& tok, const ResponseIds& ids, int choice,
                            const SequenceDelta& d, bool first_of_choice, TextOffsets& offsets,
                            const std::vector<TokenLogprob>* echo_prompt_logprobs = nullptr, ParsedDelta parsed = {});
// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
ResponseJson usage_chunk(const ResponseShape& shape, const ResponseIds& ids, const Usage& usage);

// Output choice `index` of a response written at the end, answered by `c`
// for prompt `prompt`; `prompt_logprobs` are that prompt's (echo with logprobs).
ResponseJson final_choice_json(const ResponseShape& shape, const Tokenizer& tok, const ChoiceState& c, int index,
                                 int prompt, const std::vector<TokenLogprob>& prompt_logprobs);
// vLLM's prompt_logprobs for one prompt of token ids `ids`: null for the
// first token (nothing predicts it) and for tokens never scored (an abort),
// else {"<id>": {"logprob", "rank", "decoded_token"}} holding the prompt's
// token first, then the top alternatives not already listed.
ResponseJson prompt_logprobs_json(const Tokenizer& tok, const std::vector<int32_t>& ids,
                                  const std::vector<TokenLogprob>& lps);
// The whole response written at the end, around its choices.
ResponseJson response_json(const ResponseShape& shape, const ResponseIds& ids, ResponseJson choices,
                             const Usage& usage);

}  // namespace nucleus::server

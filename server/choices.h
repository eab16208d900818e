// A generating route's choices: the shape its answer takes (ResponseShape),
// what is collected for each choice (ChoiceState), and which candidates
// answer when best_of samples more than n (output_count, pick_choice).
//
// Choice indices follow GenerationRun: choice = prompt * per-prompt + sequence,
// where per-prompt is best_of when it exceeds n, else n.
#pragma once

#include <chrono>
#include <memory>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/chat_output.h"
#include "server/text_offsets.h"

namespace nucleus::server {

// What a route does differently: the shape of its chunks and final choices.
struct ResponseShape {
  bool chat = false;
  std::string object;                          // "text_completion" or "chat.completion"
  std::string chunk_object;                    // "text_completion" or "chat.completion.chunk"
  std::vector<std::string> echo_prefix;        // completions with echo: per prompt
  std::vector<std::vector<int32_t>> echo_ids;  // ... and its token ids, when logprobs cover the prompt too
  bool echo_logprobs = false;                  // echo with logprobs: the prompt's tokens lead each choice's logprobs
  // vLLM's prompt_logprobs: each prompt's token ids, for the field (per
  // completions choice, once on a chat response); empty when not asked.
  std::vector<std::vector<int32_t>> prompt_logprobs_ids;
  bool prompt_only = false;                    // echo with max_tokens 0: the generated token is not shown
  int n = 1;                                   // choices returned per prompt
  int best_of = 0;                             // > n: this many sampled per prompt, the n best returned
  bool logprobs = true;                        // false: logprobs were only requested to rank best_of candidates
  bool beam = false;                           // use_beam_search: choices arrive ranked, each with its score
  // Chat: reasoning and tool calls parsed out of the text (null: the text is the content).
  std::shared_ptr<const ChatOutputPlan> chat_output;
};

// One choice as its deltas arrive.
struct ChoiceState {
  using Clock = std::chrono::steady_clock;

  std::string text;
  std::vector<TokenLogprob> logprobs;
  FinishReason finish = FinishReason::kNone;
  SequenceDelta last;                                    // for stop_reason
  std::optional<double> cumulative_logprob, beam_score;  // beam search results
  bool started = false;
  bool echoed = false;  // streaming with echo: the prompt went out in this choice's first chunk
  TextOffsets offsets;  // streaming: text_offset of the next token
  std::shared_ptr<ChatOutputStream> output;  // streaming with a chat output plan
  Clock::time_point first_token, last_token;

  // Collects a delta for a response written at the end: text, logprobs, finish and beam scores.
  void collect(const SequenceDelta& d);
};

// How many choices the response returns out of `candidates` sampled.
int output_count(const ResponseShape& shape, int candidates);

// The candidate that answers output choice i. With best_of > n, each prompt's
// best_of candidates are ranked by mean token logprob and the n best kept
// (OpenAI's and vLLM's rule); otherwise choice i is candidate i.
size_t pick_choice(const ResponseShape& shape, const std::vector<ChoiceState>& candidates, int i);

}  // namespace nucleus::server

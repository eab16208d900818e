// The sampling parameters of one request (OpenAI / vLLM names and ranges).
//
// The HTTP layer fills a SamplingParams from the JSON body and calls validate()
// once; an invalid value throws std::invalid_argument naming the parameter and
// its allowed range (the server turns that into a 400). The sampler reads the
// struct through a const pointer for every token of the request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sampling/filter_math.h"

namespace nucleus::sampling {

// Which distribution reported logprobs come from.
enum class LogprobsMode {
  kRaw,        // log_softmax of the model's logits, before any stage
  kProcessed,  // log of the distribution actually sampled from (after every stage)
};

struct LogitBias {
  int32_t token_id = 0;
  float bias = 0.0f;  // added to the logit; [-100, 100]
};

inline constexpr int kMaxLogprobs = 20;
inline constexpr float kMaxRepetitionPenalty = 1e6f;  // keeps penalized logits finite

struct SamplingParams {
  float temperature = 1.0f;  // [0, 2]; 0 = greedy
  int32_t top_k = 0;         // -1 or 0 = off, else >= 1
  float top_p = 1.0f;        // (0, 1]
  float min_p = 0.0f;        // [0, 1]
  float typical_p = 1.0f;    // (0, 1]
  float presence_penalty = 0.0f;    // [-2, 2], output tokens only
  float frequency_penalty = 0.0f;   // [-2, 2], output tokens only
  float repetition_penalty = 1.0f;  // > 0, prompt and output tokens
  std::vector<LogitBias> logit_bias;

  // Absent: the engine draws one per request with draw_entropy_seed().
  bool has_seed = false;
  uint64_t seed = 0;

  int32_t logprobs = -1;  // -1 = off; 0 = the sampled token's logprob and rank; 1..20 = plus the top N
  LogprobsMode logprobs_mode = LogprobsMode::kRaw;

  int32_t min_tokens = 0;  // EOS and stop_token_ids are suppressed, and stop strings ignored, until this many output tokens
  bool ignore_eos = false;  // read by the engine (keep going after EOS); the sampler ignores it
  std::vector<int32_t> stop_token_ids;
  std::vector<int32_t> allowed_token_ids;  // empty = every token allowed
  std::vector<int32_t> bad_token_ids;      // never sampled
  // vLLM's bad_words as token sequences (sampling/bad_words.h): the last
  // token of one is banned where the output ends with the rest of it.
  std::vector<std::vector<int32_t>> bad_words_token_ids;

  // Throws std::invalid_argument("<parameter> must be ..., got ...") on the first bad value.
  // With vocab_size > 0 also checks that every token id is in [0, vocab_size).
  void validate(int64_t vocab_size = 0) const;

  StageParams stage_params() const;
  bool greedy() const { return stage_params().greedy(); }
};

// A seed from the system's entropy source, for a request that did not give one.
uint64_t draw_entropy_seed();

}  // namespace nucleus::sampling

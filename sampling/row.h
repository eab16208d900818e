// One row of a sampler call: what it takes (RowInput) and what it gives back
// (RowResult), the input checks every sampler makes, and the raw logprob report.
// The stages themselves are written down in sampler.h.
#pragma once

#include <cstdint>
#include <span>

#include "sampling/params.h"
#include "sampling/penalties.h"

namespace nucleus::sampling {

struct RowInput {
  const SamplingParams* params = nullptr;     // required
  const PenaltyState* penalties = nullptr;    // null = no history (penalties then only see pending)
  std::span<const int32_t> pending_tokens;    // extra output tokens after `penalties` (speculation)
  std::span<const int32_t> output_tokens;     // the committed output, pending excluded (bad words read its end)
  uint64_t seed = 0;                          // resolved request seed
  uint32_t seq_index = 0;                     // which of the request's n sequences
  int64_t position = 0;                       // absolute position of the token being sampled
  int64_t num_output_tokens = 0;              // generated so far (for min_tokens), pending excluded
  std::span<const int32_t> eos_token_ids;     // the model's EOS ids (for min_tokens)
  // [vocab] or null: ids whose entry is 0 are never sampled (stage 1), e.g. the
  // tokens that would break JSON mode's object (engine/json_token_mask.h).
  const uint8_t* token_mask = nullptr;
};

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

enum RowFlags : uint32_t {
  kNanLogits = 1u,      // some logits were NaN (treated as -inf)
  kInfLogits = 2u,      // some logits were +inf (treated as the largest float)
  kNoCandidates = 4u,   // nothing could be sampled; token_id is 0, not a real sample
};

struct RowResult {
  int32_t token_id = 0;
  float logprob = 0.0f;  // of token_id, when params.logprobs >= 0 (raw or processed per the request)
  int32_t rank = 0;      // 1-based, when params.logprobs >= 0
  int32_t num_top = 0;   // min(params.logprobs, ids with a finite logprob)
  TokenLogprob top[kMaxLogprobs];  // descending logprob, ties by ascending id
  uint32_t flags = 0;

  bool ok() const { return (flags & kNoCandidates) == 0; }
};

// The raw logprob report (stage 12, raw mode) of `token` in logits[vocab],
// without sampling: stage 0 is applied in place, then token_id, logprob, rank
// and the top `count` (<= kMaxLogprobs) are filled as a raw-logprobs row that
// sampled `token` would report them. For tokens that were not sampled, such as
// a prompt's (echo with logprobs), so that they report the same numbers.
RowResult raw_logprob(float* logits, int64_t vocab, int32_t token, int32_t count);

// The checks sample() makes on each row before touching any (device samplers
// make them too). Throws std::invalid_argument naming the row and the field.
void check_row_input(int64_t row, const RowInput& in, int64_t vocab);

}  // namespace nucleus::sampling

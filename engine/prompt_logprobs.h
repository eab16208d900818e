// Prompt logprobs (echo with logprobs on /v1/completions, vLLM's
// prompt_logprobs): how likely the model found each prompt token, given the
// tokens before it. Position p's logits predict prompt token p + 1, so a
// P-token prompt has P - 1 entries; nothing predicts the first token.
//
// The values are the raw distribution, log_softmax of the model's logits,
// computed by the sampler's own raw-logprob report (sampling::raw_logprob), so
// a prompt token and the same token generated at the same position report the
// same numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/generation_request.h"
#include "sampling/sampler.h"

namespace nucleus {

// An event's logprob entry from the sampler's report of a token.
TokenLogprob token_logprob(const sampling::RowResult& r);

// The entry for `target` from one row of logits [vocab] (modified: NaN -> -inf,
// +inf -> FLT_MAX): its logprob, its rank (1 = most likely) and the `top_n`
// most likely tokens (0 <= top_n <= sampling::kMaxLogprobs).
TokenLogprob prompt_token_logprob(std::vector<float>& row, int32_t target, int top_n);

}  // namespace nucleus

// Prompt logprobs (echo with logprobs on /v1/completions, vLLM's
// prompt_logprobs): how likely the model found each prompt token, given the
// tokens before it. Position p's logits predict prompt token p + 1, so a
// P-token prompt has P - 1 entries; nothing predicts the first token.
//
// The values are the raw distribution, log_softmax of the model's logits
// (non-finite values handled as the sampler's stage 0 does), like the raw
// logprobs of sampled tokens (sampling/sampler.h), so a prompt token and the
// same token generated at the same position report the same number.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace nucleus {

// The entry for `target` from one row of logits [vocab] (modified: NaN -> -inf,
// +inf -> FLT_MAX): its logprob, its rank (1 = most likely) and the `top_n`
// most likely tokens (0 <= top_n <= sampling::kMaxLogprobs).
TokenLogprob prompt_token_logprob(std::vector<float>& row, int32_t target, int top_n);

}  // namespace nucleus

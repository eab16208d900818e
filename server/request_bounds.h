// Bounds on what one request may make the server hold, checked before
// anything is submitted: a 30 KB body of 64 token-array prompts with n 128
// asked for 8,192 sequences and about 1 GB. Each failure is a 400 naming the
// parameter to lower.
#pragma once

#include <cstdint>
#include <vector>

#include "server/openai_request.h"

namespace nucleus::server {

// Prompt-logprob entries (tokens x (alternatives + 1)) one request may ask for:
// about 100 MB of JSON; lm-evaluation-harness sends far less.
inline constexpr int64_t kMaxPromptLogprobEntries = int64_t{1} << 21;

// Logprob entries of generated tokens (sequences x max_tokens x (alternatives
// + 1)) one request may ask for: a non-streamed response holds them all until
// it is written. 256 sequences x 16 tokens x 21 is 86,016; one sequence of a
// whole 8192-token context with 20 alternatives is 172,032.
inline constexpr int64_t kMaxOutputLogprobEntries = int64_t{1} << 22;

// Sequences = prompts x n (x beams with beam search) <= `max_sequences`
// (--max-request-sequences), the prompt logprobs within
// kMaxPromptLogprobEntries, and the output logprobs within
// kMaxOutputLogprobEntries (without max_tokens, a sequence counts as
// `context_length` tokens). Throws ApiError 400 naming "n" (when n or the beam
// width alone is over the bound), the prompt's field, or the logprobs field
// ("top_logprobs" on chat, "logprobs" on completions).
void check_request_bounds(const CommonRequest& common, const std::vector<std::vector<int32_t>>& prompts,
                          int max_sequences, int context_length);

}  // namespace nucleus::server

// vLLM's bad_words, as token sequences: a one-token word is never sampled; a
// longer one loses its last token wherever the output so far ends with the
// rest of it, so the word is never completed. Shared by the CPU sampler
// (stage 1) and the device rows (more banned ids), so both ban the same ids.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sampling/params.h"

namespace nucleus::sampling {

// Appends to `out` the ids `p.bad_words_token_ids` ban after `output`
// (committed output tokens) followed by `pending` (drafts counted as output).
void append_bad_word_bans(const SamplingParams& p, std::span<const int32_t> output, std::span<const int32_t> pending,
                          std::vector<int32_t>& out);

}  // namespace nucleus::sampling

// Logprob reporting: log-sum-exp, the top N, and the rank of the sampled token.
// Every function scans values[n] once, in index order, so results are exact
// and independent of the batch.
#pragma once

#include <cstdint>

#include "sampling/row.h"

namespace nucleus::sampling {

// log(sum exp(values[i])), in double; -inf when every value is -inf. `max` is max(values).
double log_sum_exp(const float* values, int64_t n, float max);

// The `count` largest values (count <= kMaxLogprobs), as (id, value - log_norm), descending,
// ties by ascending id; -inf values are left out. ids == nullptr means id = index.
// Returns how many were written to out.
int32_t top_logprobs(const float* values, const int32_t* ids, int64_t n, int32_t count, double log_norm,
                     TokenLogprob* out);

// 1-based rank of `value`: how many values are >= it.
int32_t rank_of(const float* values, int64_t n, float value);

}  // namespace nucleus::sampling

#include "engine/prompt_logprobs.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "sampling/logprobs.h"

namespace nucleus {

TokenLogprob prompt_token_logprob(std::vector<float>& row, int32_t target, int top_n) {
  const int64_t vocab = static_cast<int64_t>(row.size());
  float max = -INFINITY;
  for (float& v : row) {
    if (std::isnan(v)) v = -INFINITY;
    else if (v == INFINITY) v = FLT_MAX;
    max = std::max(max, v);
  }
  const double log_norm = sampling::log_sum_exp(row.data(), vocab, max);
  TokenLogprob out;
  out.token = target;
  out.logprob = static_cast<float>(row[static_cast<size_t>(target)] - log_norm);
  out.rank = sampling::rank_of(row.data(), vocab, row[static_cast<size_t>(target)]);
  sampling::TokenLogprob top[sampling::kMaxLogprobs];
  const int32_t n = sampling::top_logprobs(row.data(), nullptr, vocab, std::min(top_n, sampling::kMaxLogprobs), log_norm, top);
  for (int32_t i = 0; i < n; ++i) out.top.push_back({top[i].token_id, top[i].logprob});
  return out;
}

}  // namespace nucleus

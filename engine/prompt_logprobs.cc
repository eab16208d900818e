#include "engine/prompt_logprobs.h"

#include <algorithm>

namespace nucleus {

TokenLogprob token_logprob(const sampling::RowResult& r) {
  TokenLogprob out;
  out.token = r.token_id;
  out.logprob = r.logprob;
  out.rank = r.rank;
  for (int32_t i = 0; i < r.num_top; ++i) out.top.push_back({r.top[i].token_id, r.top[i].logprob});
  return out;
}

TokenLogprob prompt_token_logprob(std::vector<float>& row, int32_t target, int top_n) {
  return token_logprob(sampling::raw_logprob(row.data(), static_cast<int64_t>(row.size()), target,
                                             std::min(top_n, sampling::kMaxLogprobs)));
}

}  // namespace nucleus

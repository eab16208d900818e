#include "server/choices.h"

#include <algorithm>
#include <utility>

namespace nucleus::server {

void ChoiceState::collect(const SequenceDelta& d) {
  text += d.text;
  logprobs.insert(logprobs.end(), d.logprobs.begin(), d.logprobs.end());
  if (d.finish != FinishReason::kNone) {
    finish = d.finish;
    last = d;
  }
  if (d.beam_score) {
    cumulative_logprob = d.cumulative_logprob;
    beam_score = d.beam_score;
  }
}

int output_count(const ResponseShape& shape, int candidates) {
  return shape.best_of > shape.n ? candidates / shape.best_of * shape.n : candidates;
}

size_t pick_choice(const ResponseShape& shape, const std::vector<ChoiceState>& candidates, int i) {
  if (shape.best_of <= shape.n) return static_cast<size_t>(i);
  const int prompt = i / shape.n, rank = i % shape.n;
  std::vector<std::pair<double, int>> scored;
  for (int k = 0; k < shape.best_of; ++k) {
    const ChoiceState& c = candidates[prompt * shape.best_of + k];
    double sum = 0;
    for (const TokenLogprob& lp : c.logprobs) sum += lp.logprob;
    scored.push_back({c.logprobs.empty() ? -1e300 : sum / double(c.logprobs.size()), k});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return static_cast<size_t>(prompt * shape.best_of + scored[rank].second);
}

}  // namespace nucleus::server

#include "sampling/beam_score.h"

#include <algorithm>
#include <cmath>

#include "sampling/logprobs.h"

namespace nucleus::sampling {

void beam_candidates(const float* row, int64_t vocab, int32_t k, std::vector<BeamCandidate>& out) {
  out.clear();
  if (k <= 0 || vocab <= 0) return;
  const float max = *std::max_element(row, row + vocab);
  const double norm = log_sum_exp(row, vocab, max);
  if (!std::isfinite(norm)) return;  // every logit is -inf (or NaN)
  // A descending list of at most k (value, id); a value enters only when it beats
  // the current last one, so ties keep the smaller id. O(vocab * k) worst case,
  // O(vocab) for random rows once the list is full.
  struct Item {
    float value;
    int32_t id;
  };
  std::vector<Item> best;
  best.reserve(static_cast<size_t>(k) + 1);
  for (int64_t i = 0; i < vocab; ++i) {
    const float v = row[i];
    if (!(v > -INFINITY)) continue;
    if (static_cast<int32_t>(best.size()) == k && !(v > best.back().value)) continue;
    if (static_cast<int32_t>(best.size()) == k) best.pop_back();
    auto pos = std::upper_bound(best.begin(), best.end(), v, [](float x, const Item& it) { return x > it.value; });
    best.insert(pos, Item{v, static_cast<int32_t>(i)});
  }
  // Ranks: a non-candidate is <= the smallest candidate, so only candidates tied
  // with it need the vocabulary's count of values >= it.
  const float last = best.back().value;
  const int32_t at_or_above_last = rank_of(row, vocab, last);
  for (size_t j = 0; j < best.size(); ++j) {
    BeamCandidate c;
    c.token = best[j].id;
    c.logprob = static_cast<float>(best[j].value - norm);
    if (best[j].value == last) {
      c.rank = at_or_above_last;
    } else {
      size_t r = j;
      while (r + 1 < best.size() && best[r + 1].value == best[j].value) ++r;
      c.rank = static_cast<int32_t>(r + 1);
    }
    out.push_back(c);
  }
}

double beam_score(double cumulative_logprob, int64_t length, float length_penalty) {
  return cumulative_logprob / std::pow(static_cast<double>(std::max<int64_t>(length, 1)), length_penalty);
}

bool beam_search_can_stop(const StopQuery& q) {
  switch (q.mode) {
    case EarlyStopping::kWhenComplete: return true;
    case EarlyStopping::kHeuristic:
      return q.worst_finished_score >= beam_score(q.best_running_cum, q.best_running_length, q.length_penalty);
    case EarlyStopping::kNever: {
      // Logprobs are <= 0, so a beam's cumulative logprob only falls; with a
      // positive penalty its score is highest at the longest length.
      const int64_t length = q.length_penalty > 0 ? std::max(q.max_length, q.best_running_length) : q.best_running_length;
      return q.worst_finished_score >= beam_score(q.best_running_cum, length, q.length_penalty);
    }
  }
  return true;
}

}  // namespace nucleus::sampling

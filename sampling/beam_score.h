// Beam search arithmetic (vLLM's rules; the search itself is engine/beam_search.h):
// the per-beam candidate tokens of one logit row, the length-penalised score,
// and the early-stopping test.
//
//   candidates  log_softmax of the row the sampler leaves after its stages 0-4
//               (masks, logit_bias, min_tokens, penalties: sampler.h), the k most
//               likely tokens with a finite logprob, descending, ties by ascending id
//               (so the first candidate is exactly the greedy token).
//   score       cumulative_logprob / length^length_penalty, where length counts the
//               prompt and the output tokens, minus a final EOS or stop token id
//               (vLLM's get_beam_search_score: its `tokens` include the prompt, and
//               HF does not count the EOS).
//   stopping    vLLM v0's _check_beam_search_early_stopping, asked once `width`
//               finished candidates exist:
//                 kWhenComplete ("early_stopping": true)   stop at once;
//                 kHeuristic    (false, the default)        stop when the best running
//                     beam's current score is <= the worst kept finished score;
//                 kNever        ("never")                   stop only when no running
//                     beam can reach the worst kept finished score: for length_penalty > 0
//                     its cumulative logprob over the longest length it can reach
//                     (min(prompt + max_tokens, context); vLLM takes a looser max, which
//                     searches longer but returns the same set), else its current score.
#pragma once

#include <cstdint>
#include <vector>

namespace nucleus::sampling {

enum class EarlyStopping { kHeuristic, kWhenComplete, kNever };

struct BeamCandidate {
  int32_t token = 0;
  float logprob = 0.0f;  // log_softmax of the row at `token`
  int32_t rank = 0;      // 1-based: how many tokens have a logprob >= this one
};

// The `k` best candidates of `row` [vocab] into `out` (cleared first); fewer when
// fewer tokens have a finite logit, none when none has.
void beam_candidates(const float* row, int64_t vocab, int32_t k, std::vector<BeamCandidate>& out);

// cumulative_logprob / length^length_penalty; `length` >= 1.
double beam_score(double cumulative_logprob, int64_t length, float length_penalty);

struct StopQuery {
  EarlyStopping mode = EarlyStopping::kHeuristic;
  float length_penalty = 1.0f;
  double worst_finished_score = 0;  // the width-th best finished candidate
  double best_running_cum = 0;      // the best running beam: cumulative logprob
  int64_t best_running_length = 1;  //   its scored length now
  int64_t max_length = 1;           //   and the longest it can grow to
};
// True when the search can end (the finished candidates can no longer change).
bool beam_search_can_stop(const StopQuery& q);

}  // namespace nucleus::sampling

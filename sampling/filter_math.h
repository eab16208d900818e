// The math of the sampling stages, free of containers and exceptions so that
// the CUDA backend can compile the same code for the device (NUCLEUS_HD).
//
// Conventions: a row's logits after penalties are l[V]; with temperature T the
// stages work on d[i] = (l[i] - max(l)) / T <= 0, so p[i] = exp(d[i]) is the
// unnormalised probability with p = 1 at the argmax, and nothing overflows even
// for a tiny T (d becomes a very negative number or -inf, never NaN).
#pragma once

#include <math.h>

#include <cstdint>

#include "kernels/fp16.h"  // NUCLEUS_HD

namespace nucleus::sampling {

// The scalar knobs of one request, as the stages read them (a plain struct
// that can be copied to the device). SamplingParams::stage_params() fills it.
struct StageParams {
  float temperature = 1.0f;  // below kGreedyTemperature = greedy
  int32_t top_k = 0;         // <= 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  float typical_p = 1.0f;    // 1 = off
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;

  // As vLLM (_SAMPLING_EPS): a temperature this small is greedy, and 1/T stays finite.
  static constexpr float kGreedyTemperature = 1e-5f;

  NUCLEUS_HD bool greedy() const { return temperature < kGreedyTemperature || top_k == 1; }
  NUCLEUS_HD bool uses_top_k() const { return top_k > 1; }
  NUCLEUS_HD bool uses_top_p() const { return top_p < 1.0f; }
  NUCLEUS_HD bool uses_typical_p() const { return typical_p < 1.0f; }
  NUCLEUS_HD bool uses_penalties() const {
    return repetition_penalty != 1.0f || frequency_penalty != 0.0f || presence_penalty != 0.0f;
  }
};

// vLLM's penalties for one logit. `seen`: the id occurs in the prompt or the
// output (repetition); `output_count`: occurrences in the output only
// (frequency, presence; OpenAI's formula).
NUCLEUS_HD inline float penalize_logit(float logit, bool seen, uint32_t output_count, const StageParams& p) {
  if (seen && p.repetition_penalty != 1.0f) {
    logit = logit > 0.0f ? logit / p.repetition_penalty : logit * p.repetition_penalty;
  }
  logit -= p.frequency_penalty * static_cast<float>(output_count);
  if (output_count > 0) logit -= p.presence_penalty;
  return logit;
}

// min-p keeps p[i] >= min_p * p_max, i.e. d[i] >= log(min_p) (d is relative to the max).
NUCLEUS_HD inline float min_p_cutoff(float min_p) { return min_p > 0.0f ? logf(min_p) : -INFINITY; }

// The one selection behind top-k, top-p and typical-p, without sorting.
//
// Each candidate has a key (smaller = better) and a weight >= 0. A candidate is
// kept iff the total weight of candidates with a strictly smaller key is below
// `mass`. Since that total only grows with the key, the kept set is
// {key <= K} and this returns K (ties at the boundary are all kept):
//   top-k:     key = -d,     weight 1,  mass = k
//   top-p:     key = -p,     weight p,  mass = top_p * sum(p)
//   typical-p: key = |-log q - H|, weight q, mass = typical_p
// Expected O(n): a three-way quickselect that always recurses into one side,
// with the running weight of everything below the current range in `below`.
// keys[n] and weights[n] are scratch: reordered on return. n >= 1, mass > 0.
NUCLEUS_HD inline float weighted_select_threshold(float* keys, float* weights, int64_t n, double mass) {
  int64_t lo = 0, hi = n;  // unresolved range [lo, hi)
  double below = 0.0;      // weight of resolved candidates with smaller keys (all kept)
  float threshold = keys[0];
  bool found = false;
  while (lo < hi) {
    // Median of three as pivot: deterministic, robust to sorted inputs.
    const float a = keys[lo], b = keys[lo + (hi - lo) / 2], c = keys[hi - 1];
    const float pivot = (a < b) ? ((b < c) ? b : (a < c ? c : a)) : ((a < c) ? a : (b < c ? c : b));
    // Three-way partition: [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot.
    int64_t lt = lo, i = lo, gt = hi;
    double less_weight = 0.0, equal_weight = 0.0;
    while (i < gt) {
      const float k = keys[i];
      if (k < pivot) {
        less_weight += weights[i];
        const float tw = weights[i];
        keys[i] = keys[lt], weights[i] = weights[lt];
        keys[lt] = k, weights[lt] = tw;
        ++lt, ++i;
      } else if (k > pivot) {
        --gt;
        const float tw = weights[i];
        keys[i] = keys[gt], weights[i] = weights[gt];
        keys[gt] = k, weights[gt] = tw;
      } else {
        equal_weight += weights[i];
        ++i;
      }
    }
    if (below + less_weight >= mass) {
      hi = lt;  // the pivot is not kept, nor anything above it
    } else {
      threshold = pivot;  // the pivot is kept; look for more above it
      found = true;
      below += less_weight + equal_weight;
      lo = gt;
    }
  }
  // Unreachable with mass > 0 (the smallest key has nothing below it); keep the minimum anyway.
  if (!found) {
    threshold = keys[0];
    for (int64_t j = 1; j < n; ++j) threshold = keys[j] < threshold ? keys[j] : threshold;
  }
  return threshold;
}

}  // namespace nucleus::sampling

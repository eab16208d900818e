#include "sampling/logprobs.h"

#include <cmath>

namespace nucleus::sampling {

double log_sum_exp(const float* values, int64_t n, float max) {
  if (!(max > -INFINITY)) return -INFINITY;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(values[i]) - max);
  return max + std::log(sum);
}

int32_t top_logprobs(const float* values, const int32_t* ids, int64_t n, int32_t count, double log_norm,
                     TokenLogprob* out) {
  // A descending array of at most `count` (value, id) pairs; a value enters only if it
  // beats the current last one, so ties keep the earlier (smaller) id.
  struct Item {
    float value;
    int32_t id;
  };
  Item best[kMaxLogprobs];
  int32_t size = 0;
  if (count > kMaxLogprobs) count = kMaxLogprobs;
  if (count <= 0) return 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = values[i];
    if (!(v > -INFINITY)) continue;
    if (size == count && !(v > best[size - 1].value)) continue;
    int32_t pos = size < count ? size++ : size - 1;
    while (pos > 0 && v > best[pos - 1].value) {
      best[pos] = best[pos - 1];
      --pos;
    }
    best[pos] = Item{v, ids ? ids[i] : static_cast<int32_t>(i)};
  }
  for (int32_t j = 0; j < size; ++j) {
    out[j] = TokenLogprob{best[j].id, static_cast<float>(best[j].value - log_norm)};
  }
  return size;
}

int32_t rank_of(const float* values, int64_t n, float value) {
  int32_t rank = 0;
  for (int64_t i = 0; i < n; ++i) rank += values[i] >= value;
  return rank;
}

}  // namespace nucleus::sampling

// AVX2 attention for one query head (see attention_kernels.h). Keys in order:
// scores with 8-lane dot products, one vector exp pass, then the weighted sum
// of V kept in registers when head_dim is a multiple of 8 up to 128.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/vec_math_avx2.h"

namespace nucleus::kernels::cpu {
namespace {

// Calls fn(j, slot) for keys j = 0..n_keys-1 in order, walking the block table
// block by block (no division per key).
template <typename Fn>
inline void for_each_key(const HeadJob& job, Fn&& fn) {
  int j = 0;
  for (int b = 0; j < job.n_keys; ++b) {
    const int64_t base = static_cast<int64_t>(job.block_table[b]) * job.block_size;
    const int end = std::min(job.n_keys, j + job.block_size);
    for (int64_t slot = base; j < end; ++j, ++slot) fn(j, slot);
  }
}

float dot(const float* a, const float* b, int n) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  float sum = hsum(acc);
  for (; i < n; ++i) sum = std::fma(a[i], b[i], sum);
  return sum;
}

// scores[j] = exp(scores[j] - max); returns their sum (8 lanes, fixed tree).
float softmax_numerators(float* scores, int n, float max_score) {
  const __m256 m = _mm256_set1_ps(max_score);
  __m256 acc = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
    _mm256_storeu_ps(scores + j, p);
    acc = _mm256_add_ps(acc, p);
  }
  if (j < n) {
    // Padded tail: lanes past n are masked to 0 so they do not enter the sum.
    alignas(32) float tail[8];
    for (int i = 0; i < 8; ++i) tail[i] = j + i < n ? scores[j + i] - max_score : 0.0f;
    const __m256 live = _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps(static_cast<float>(n - j)),
                                      _CMP_LT_OQ);
    const __m256 p = _mm256_and_ps(exp256(_mm256_load_ps(tail)), live);
    _mm256_store_ps(tail, p);
    for (int i = 0; j + i < n; ++i) scores[j + i] = tail[i];
    acc = _mm256_add_ps(acc, p);
  }
  return hsum(acc);
}

// out = sum_j scores[j] * v_j / sum, head_dim = 8 * kChunks, in registers.
template <int kChunks>
void weighted_values_fixed(const HeadJob& job, float inv_sum) {
  __m256 acc[kChunks];
  for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_setzero_ps();
  for_each_key(job, [&](int j, int64_t slot) {
    const float* v = job.v + slot * job.slot_stride;
    const __m256 p = _mm256_set1_ps(job.scores[j]);
#pragma GCC unroll 16
    for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * c), acc[c]);
  });
  const __m256 inv = _mm256_set1_ps(inv_sum);
  for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(job.out + 8 * c, _mm256_mul_ps(acc[c], inv));
}

void weighted_values_any(const HeadJob& job, float inv_sum) {
  const int d = job.head_dim;
  for (int i = 0; i < d; ++i) job.out[i] = 0.0f;
  for_each_key(job, [&](int j, int64_t slot) {
    const float* v = job.v + slot * job.slot_stride;
    const float p = job.scores[j];
    int i = 0;
    for (; i + 8 <= d; i += 8) {
      _mm256_storeu_ps(job.out + i, _mm256_fmadd_ps(_mm256_set1_ps(p), _mm256_loadu_ps(v + i), _mm256_loadu_ps(job.out + i)));
    }
    for (; i < d; ++i) job.out[i] = std::fma(p, v[i], job.out[i]);
  });
  for (int i = 0; i < d; ++i) job.out[i] *= inv_sum;
}

// Scores of 4 keys at once for head_dim a multiple of 8: four independent FMA
// chains instead of one (a lone dot() waits on its FMA latency every 8
// floats), each the operations of dot() in dot()'s order, so every score is
// bitwise what dot() gives for that key alone.
inline void dot4(const float* q, const float* k, int64_t stride, int n, float* out) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256 qi = _mm256_loadu_ps(q + i);
    a0 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k + i), a0);
    a1 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k + stride + i), a1);
    a2 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k + 2 * stride + i), a2);
    a3 = _mm256_fmadd_ps(qi, _mm256_loadu_ps(k + 3 * stride + i), a3);
  }
  out[0] = hsum(a0);
  out[1] = hsum(a1);
  out[2] = hsum(a2);
  out[3] = hsum(a3);
}

// scores[j] = (q . k_j) * scale for every key in order; returns their max.
float key_scores(const HeadJob& job) {
  float max_score = -INFINITY;
  if (job.head_dim % 8 != 0) {
    for_each_key(job, [&](int j, int64_t slot) {
      const float s = dot(job.q, job.k + slot * job.slot_stride, job.head_dim) * job.scale;
      job.scores[j] = s;
      max_score = std::fmax(max_score, s);
    });
    return max_score;
  }
  // Block by block: the slots of one block are consecutive.
  for (int j = 0, b = 0; j < job.n_keys; ++b) {
    const int64_t slot0 = static_cast<int64_t>(job.block_table[b]) * job.block_size;
    const int end = std::min(job.n_keys, j + job.block_size);
    const float* k = job.k + slot0 * job.slot_stride;
    for (; j + 4 <= end; j += 4, k += 4 * job.slot_stride) {
      float d[4];
      dot4(job.q, k, job.slot_stride, job.head_dim, d);
      for (int i = 0; i < 4; ++i) {
        job.scores[j + i] = d[i] * job.scale;
        max_score = std::fmax(max_score, job.scores[j + i]);
      }
    }
    for (; j < end; ++j, k += job.slot_stride) {
      job.scores[j] = dot(job.q, k, job.head_dim) * job.scale;
      max_score = std::fmax(max_score, job.scores[j]);
    }
  }
  return max_score;
}

}  // namespace

void attend_head_avx2(const HeadJob& job) {
  const float max_score = key_scores(job);
  const float inv_sum = 1.0f / softmax_numerators(job.scores, job.n_keys, max_score);
  switch (job.head_dim) {
    case 32: return weighted_values_fixed<4>(job, inv_sum);
    case 64: return weighted_values_fixed<8>(job, inv_sum);
    case 96: return weighted_values_fixed<12>(job, inv_sum);
    case 128: return weighted_values_fixed<16>(job, inv_sum);
    default: return weighted_values_any(job, inv_sum);
  }
}

}  // namespace nucleus::kernels::cpu

// AVX2 attention for one job of attention_kernels.h: the query heads of one KV
// head in a few token rows of one sequence. Per query, keys in order: scores
// with 8-lane dot products, one vector exp pass, then the weighted sum of V in
// registers when head_dim is a multiple of 8 up to 128. The job's queries take
// each block of keys in turn, so a block's K and V come from memory once for
// all of them. K and V are read in the cache's dtype, 8 elements at a time
// widened to floats in registers (exactly: kv_dtype.h), so every dtype runs
// the same float operations; the scalar twin is attention_cpu.cc.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/vec_math_avx2.h"

namespace nucleus::kernels::cpu {
namespace {

// Elements i..i+7 of a stored K or V row as floats (i a multiple of 8).
template <KvDtype D>
inline __m256 load8(const uint8_t* row, int i) {
  if constexpr (D == KvDtype::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (D == KvDtype::kF16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  } else {
    const uint8_t* block = row + (i / kQK) * sizeof(BlockQ8_0);
    int16_t d;
    int64_t q;
    std::memcpy(&d, block, sizeof d);
    std::memcpy(&q, block + 2 + i % kQK, sizeof q);
    const __m256 values = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(q)));
    return _mm256_mul_ps(_mm256_cvtph_ps(_mm_set1_epi16(d)), values);
  }
}

// Element i of a stored row as a float (the head_dim % 8 tail; Q8_0 rows have none).
template <KvDtype D>
inline float load1(const uint8_t* row, int i) {
  if constexpr (D == KvDtype::kF16) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, sizeof h);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
  } else {
    static_assert(D == KvDtype::kF32, "Q8_0 rows are whole blocks of 32");
    float f;
    std::memcpy(&f, row + 4 * i, sizeof f);
    return f;
  }
}

// Bytes of one KV head's row: head_dim elements.
template <KvDtype D>
inline size_t head_row_bytes(int head_dim) {
  if constexpr (D == KvDtype::kF32) return static_cast<size_t>(head_dim) * 4;
  else if constexpr (D == KvDtype::kF16) return static_cast<size_t>(head_dim) * 2;
  else return static_cast<size_t>(head_dim / kQK) * sizeof(BlockQ8_0);
}

// Calls fn(b, j, end, offset) for the job's key blocks in order: block b
// holds keys j..end-1, their rows at job.k + offset, + key_stride, ...
template <typename Fn>
inline void for_each_block(const HeadJob& job, Fn&& fn) {
  for (int j = 0, b = 0; j < job.n_keys; ++b) {
    const int end = std::min(job.n_keys, j + job.block_size);
    fn(b, j, end, static_cast<int64_t>(job.block_table[b]) * job.block_bytes);
    j = end;
  }
}

// Calls fn(j, offset) for keys j = 0..n_keys-1 in order (no division per key).
template <typename Fn>
inline void for_each_key(const HeadJob& job, Fn&& fn) {
  for_each_block(job, [&](int, int j, int end, int64_t offset) {
    for (; j < end; ++j, offset += job.key_stride) fn(j, offset);
  });
}

template <KvDtype D>
float dot(const float* a, const uint8_t* b, int n) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8<D>(b, i), acc);
  float sum = hsum(acc);
  if constexpr (D != KvDtype::kQ8_0) {
    for (; i < n; ++i) sum = std::fma(a[i], load1<D>(b, i), sum);
  }
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

// The job's rows of the block after the current one (for each of its KV
// heads), fetched while this block is computed: the block table scatters a
// sequence's blocks, so the hardware prefetcher cannot see the next one coming.
template <KvDtype D>
inline void prefetch_block(const HeadJob& job, const uint8_t* base, int b, int j_next) {
  if (j_next >= job.n_keys) return;
  const int keys = std::min(job.block_size, job.n_keys - j_next);
  const size_t row_bytes = head_row_bytes<D>(job.head_dim);
  const char* block =
      reinterpret_cast<const char*>(base + static_cast<int64_t>(job.block_table[b + 1]) * job.block_bytes);
  for (int e = 0; e < job.kv_heads(); ++e) {
    const char* row = block + e * job.kv_stride;
    for (int j = 0; j < keys; ++j, row += job.key_stride) {
      for (size_t line = 0; line < row_bytes; line += 64) _mm_prefetch(row + line, _MM_HINT_T0);
    }
  }
}

// out_q = sum_j scores_q[j] * v_j / sum_q, head_dim = 8 * kChunks: block by
// block, each query of the job in turn accumulating in registers over the
// block's keys (which stay in L1 for the next query), its running sum kept in
// its output between blocks. Per output element: acc = 0; acc = fma(p_j, v_j,
// acc) for j in order; out = acc * inv, however the job groups queries.
template <KvDtype D, int kChunks>
void weighted_values_fixed(const HeadJob& job, const float* inv_sums) {
  const int queries = job.total_queries();
  for (int qi = 0; qi < queries; ++qi) {
    for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(job.output(qi) + 8 * c, _mm256_setzero_ps());
  }
  for_each_block(job, [&](int b, int j, int block_end, int64_t offset) {
    prefetch_block<D>(job, job.v, b, block_end);
    for (int qi = 0; qi < queries; ++qi) {
      const int end = std::min(block_end, job.keys_of(qi));
      if (end <= j) continue;
      float* out = job.output(qi);
      const float* scores = job.scores_of(qi);
      __m256 acc[kChunks];
#pragma GCC unroll 16
      for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_loadu_ps(out + 8 * c);
      const uint8_t* v = job.v + job.kv_offset(qi) + offset;
      for (int jj = j; jj < end; ++jj, v += job.key_stride) {
        const __m256 p = _mm256_set1_ps(scores[jj]);
#pragma GCC unroll 16
        for (int c = 0; c < kChunks; ++c) acc[c] = _mm256_fmadd_ps(p, load8<D>(v, 8 * c), acc[c]);
      }
#pragma GCC unroll 16
      for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(out + 8 * c, acc[c]);
    }
  });
  for (int qi = 0; qi < queries; ++qi) {
    const __m256 inv = _mm256_set1_ps(inv_sums[qi]);
    for (int c = 0; c < kChunks; ++c) {
      float* o = job.output(qi) + 8 * c;
      _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_loadu_ps(o), inv));
    }
  }
}

// Any head_dim, one query head (n_queries == 1).
template <KvDtype D>
void weighted_values_any(const HeadJob& job, float inv_sum) {
  const int d = job.head_dim;
  for (int i = 0; i < d; ++i) job.out[i] = 0.0f;
  for_each_key(job, [&](int j, int64_t offset) {
    const uint8_t* v = job.v + offset;
    const float p = job.scores[j];
    int i = 0;
    for (; i + 8 <= d; i += 8) {
      _mm256_storeu_ps(job.out + i, _mm256_fmadd_ps(_mm256_set1_ps(p), load8<D>(v, i), _mm256_loadu_ps(job.out + i)));
    }
    if constexpr (D != KvDtype::kQ8_0) {
      for (; i < d; ++i) job.out[i] = std::fma(p, load1<D>(v, i), job.out[i]);
    }
  });
  for (int i = 0; i < d; ++i) job.out[i] *= inv_sum;
}

// Scores of 4 keys at once for head_dim a multiple of 8: four independent FMA
// chains instead of one (a lone dot() waits on its FMA latency every 8
// floats), each the operations of dot() in dot()'s order, so every score is
// bitwise what dot() gives for that key alone.
template <KvDtype D>
inline void dot4(const float* q, const uint8_t* k, int64_t stride, int n, float* out) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256 qi = _mm256_loadu_ps(q + i);
    a0 = _mm256_fmadd_ps(qi, load8<D>(k, i), a0);
    a1 = _mm256_fmadd_ps(qi, load8<D>(k + stride, i), a1);
    a2 = _mm256_fmadd_ps(qi, load8<D>(k + 2 * stride, i), a2);
    a3 = _mm256_fmadd_ps(qi, load8<D>(k + 3 * stride, i), a3);
  }
  out[0] = hsum(a0);
  out[1] = hsum(a1);
  out[2] = hsum(a2);
  out[3] = hsum(a3);
}

// One query head (n_queries == 1), head_dim not a multiple of 8:
// scores[j] = (q . k_j) * scale for every key in order; returns their max.
template <KvDtype D>
float key_scores_any(const HeadJob& job) {
  float max_score = -INFINITY;
  for_each_key(job, [&](int j, int64_t offset) {
    const float s = dot<D>(job.q, job.k + offset, job.head_dim) * job.scale;
    job.scores[j] = s;
    max_score = std::fmax(max_score, s);
  });
  return max_score;
}

// hsum() of each of a[0..7], as one vector: lane j = hsum(a[j]), through the
// same additions in the same pairs (lanes l + l+4, then + l+2, then + l+1),
// so each lane is bitwise what hsum() gives. Transposing the final sums
// instead of reducing each vector alone is 12 shuffles and 7 adds for 8 keys.
inline __m256 hsum8(const __m256 a[8]) {
  __m256 s[4];  // s[i] = [a[2i] lanes l + l+4 | a[2i+1] lanes l + l+4]
  for (int i = 0; i < 4; ++i) {
    s[i] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x20),
                         _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x31));
  }
  // u0: low half [a0: l0+l2, l1+l3, a2: same], high half the same of a1, a3; u1 of a4..a7.
  const __m256 u0 = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm256_shuffle_ps(s[0], s[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 u1 = _mm256_add_ps(_mm256_shuffle_ps(s[2], s[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                  _mm256_shuffle_ps(s[2], s[3], _MM_SHUFFLE(3, 2, 3, 2)));
  // Low half: keys 0, 2, 4, 6; high half: keys 1, 3, 5, 7.
  const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Dot products of q with 8 consecutive keys, each the operations of dot() in
// dot()'s order (one 8-lane FMA chain per key, then hsum), so every score is
// bitwise what dot() gives for that key alone; eight independent chains keep
// both FMA ports busy where one chain would wait on its latency.
template <KvDtype D>
inline __m256 dot8(const float* q, const uint8_t* k, int64_t stride, int n) {
  __m256 acc[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256 qi = _mm256_loadu_ps(q + i);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(qi, load8<D>(k + j * stride, i), acc[j]);
  }
  return hsum8(acc);
}

// head_dim a multiple of 8: scores_q[j] = (q . k_j) * scale for every query
// of the job and each of its keys in order, block by block (the slots of one
// block are consecutive), the queries in turn over a block's keys while those
// are in L1; max_scores[qi] = max_j scores_q[j]. dot8, dot4 and dot give a key
// bitwise the same score, so which one a key meets does not matter. The max
// is a vector max over lanes, exact in any order (NaN scores are skipped, as
// std::fmax does).
template <KvDtype D>
void key_scores(const HeadJob& job, float* max_scores) {
  const int queries = job.total_queries();
  __m256 max8[kMaxJobQueries];
  for (int qi = 0; qi < queries; ++qi) max8[qi] = _mm256_set1_ps(-INFINITY);
  const __m256 scale = _mm256_set1_ps(job.scale);
  for_each_block(job, [&](int b, int j, int block_end, int64_t offset) {
    prefetch_block<D>(job, job.k, b, block_end);
    for (int qi = 0; qi < queries; ++qi) {
      const int end = std::min(block_end, job.keys_of(qi));
      const float* q = job.query(qi);
      float* scores = job.scores_of(qi);
      const uint8_t* k = job.k + job.kv_offset(qi) + offset;
      int jj = j;
      for (; jj + 8 <= end; jj += 8, k += 8 * job.key_stride) {
        const __m256 s = _mm256_mul_ps(dot8<D>(q, k, job.key_stride, job.head_dim), scale);
        _mm256_storeu_ps(scores + jj, s);
        max8[qi] = _mm256_max_ps(s, max8[qi]);  // a NaN in s gives the second operand
      }
      for (; jj + 4 <= end; jj += 4, k += 4 * job.key_stride) {
        float d[4];
        dot4<D>(q, k, job.key_stride, job.head_dim, d);
        for (int i = 0; i < 4; ++i) scores[jj + i] = d[i] * job.scale;
        max8[qi] = _mm256_max_ps(_mm256_set_m128(_mm_set1_ps(-INFINITY), _mm_loadu_ps(scores + jj)), max8[qi]);
      }
      for (; jj < end; ++jj, k += job.key_stride) {
        scores[jj] = dot<D>(q, k, job.head_dim) * job.scale;
        max8[qi] = _mm256_max_ps(_mm256_set1_ps(scores[jj]), max8[qi]);
      }
    }
  });
  for (int qi = 0; qi < queries; ++qi) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, max8[qi]);
    float m = lanes[0];
    for (int i = 1; i < 8; ++i) m = std::fmax(m, lanes[i]);
    max_scores[qi] = m;
  }
}

template <KvDtype D>
void attend_head_as(const HeadJob& job) {
  const int queries = job.total_queries();
  const bool masked = job.masked();
  if (job.head_dim % 8 != 0) {
    for (int qi = 0; qi < queries; ++qi) {
      const HeadJob one = job.single(qi);
      const float max_score = key_scores_any<D>(one);
      const float inv_sum = masked ? masked_softmax_numerators(one, 0, softmax_numerators)
                                   : 1.0f / softmax_numerators(one.scores, one.n_keys, max_score);
      weighted_values_any<D>(one, inv_sum);
    }
    return;
  }
  float max_scores[kMaxJobQueries], inv_sums[kMaxJobQueries];
  key_scores<D>(job, max_scores);
  for (int qi = 0; qi < queries; ++qi) {
    inv_sums[qi] = masked ? masked_softmax_numerators(job, qi, softmax_numerators)
                          : 1.0f / softmax_numerators(job.scores_of(qi), job.keys_of(qi), max_scores[qi]);
  }
  switch (job.head_dim) {
    case 32: return weighted_values_fixed<D, 4>(job, inv_sums);
    case 64: return weighted_values_fixed<D, 8>(job, inv_sums);
    case 96: return weighted_values_fixed<D, 12>(job, inv_sums);
    case 128: return weighted_values_fixed<D, 16>(job, inv_sums);
    default:
      for (int qi = 0; qi < queries; ++qi) weighted_values_any<D>(job.single(qi), inv_sums[qi]);
  }
}

}  // namespace

void attend_head_avx2(const HeadJob& job) {
  switch (job.dtype) {
    case KvDtype::kF16: return attend_head_as<KvDtype::kF16>(job);
    case KvDtype::kQ8_0: return attend_head_as<KvDtype::kQ8_0>(job);
    case KvDtype::kF32: return attend_head_as<KvDtype::kF32>(job);
  }
}

}  // namespace nucleus::kernels::cpu

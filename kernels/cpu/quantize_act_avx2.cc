// AVX2 quantize_row_q8 and quantize_row_q8k: the same blocks as the scalar code in quantize_act.cc,
// bit for bit (the same float max, multiply, round-to-nearest-even and clamp
// per element; the sums are exact integers), 8 elements at a time. The scalar
// loop spent most of its time in calls to nearbyintf.
#include <immintrin.h>

#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {

namespace {

// max |x[i]| over n floats (n a multiple of 8). Max is exact and order-free,
// so this is the scalar loop's std::fmax result for finite inputs.
inline float abs_max(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  return _mm_cvtss_f32(m4);
}

// 32 floats -> round(x * id) clamped to [-127, 127] (ties to even), as int8 in
// element order in q, and as four int32 vectors in v.
inline void quantize32(const float* x, __m256 vid, int8_t* q, __m256i v[4]) {
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  for (int i = 0; i < 4; ++i) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vid),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v[i] = _mm256_cvtps_epi32(_mm256_max_ps(lo, _mm256_min_ps(hi, r)));
  }
  // int32 x 32 -> int8 x 32 in element order (packs work per 128-bit lane).
  const __m256i p01 = _mm256_packs_epi32(v[0], v[1]);
  const __m256i p23 = _mm256_packs_epi32(v[2], v[3]);
  const __m256i p = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), p);
}

inline int hsum_epi32(__m256i s) {
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
  return _mm_cvtsi128_si32(s4);
}

}  // namespace

void quantize_row_q8_avx2(const float* x, int64_t n, ActBlockQ8* out) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    const float amax = abs_max(x, kQK);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    ActBlockQ8& block = out[b];
    __m256i q[4];
    quantize32(x, _mm256_set1_ps(id), block.qs, q);
    const int sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    block.d = fp16_rounded(d);
    block.s = fp16_rounded(d * static_cast<float>(sum));
    block.sum = sum;
  }
}

void quantize_row_q8k_avx2(const float* x, int64_t n, ActBlockQ8K* out) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const float amax = abs_max(x, kQK_K);
    ActBlockQ8K& block = out[b];
    block.d = amax / 127.0f;
    const __m256 vid = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    for (int g = 0; g < kQK_K / 32; ++g) {
      __m256i q[4];
      quantize32(x + 32 * g, vid, block.qs + 32 * g, q);
      block.bsums[2 * g] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[0], q[1])));
      block.bsums[2 * g + 1] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[2], q[3])));
      block.sums32[g] = static_cast<int16_t>(block.bsums[2 * g] + block.bsums[2 * g + 1]);
    }
  }
}

}  // namespace nucleus::kernels::cpu

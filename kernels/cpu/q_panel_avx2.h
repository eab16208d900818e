// What the AVX2 kernels of Q4_0, Q4_1 and Q8_0 in the panel layout of
// q_panel.h share (matmul_q_panel_avx2.cc reads the panels as packed,
// matmul_q_unpacked_avx2.cc unpacks them first): the activation broadcast,
// the widening of a block's 16-bit sums, the float step and the row stores.
// One copy of the float step is what keeps both paths bitwise equal. Include
// ONLY from *_avx2.cc files.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

// The 4 activation bytes of group g (elements 4g..4g+3) of a block, in every lane.
inline __m256i bcast_group(const uint8_t* xb, int g) {
  return _mm256_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 4 * g));
}

// A Q4 block's 16-bit pair sums (8 groups of nibbles: <= 8 * 2 * 15 * 127 =
// 30480) as the row's int32 dot product; Q4_0's stored values are w + 8, so
// it subtracts 8 * sum(x).
template <class Panel>
__attribute__((always_inline)) inline __m256i widen_q4_sums(__m256i sum16, const uint8_t* xb) {
  const __m256i dot = _mm256_madd_epi16(sum16, _mm256_set1_epi16(1));
  if constexpr (std::is_same_v<Panel, PanelBlockQ4_0>) {
    return _mm256_add_epi32(dot, _mm256_set1_epi32(-8 * load_i32(xb + offsetof(ActBlockQ8, sum))));
  }
  return dot;
}

// The float step of block p for tokens xb[0..MR) and halves h0 .. h0 + NH, in
// the order every path shares (q_panel.h): acc = fma(d_w * d_x, float(dot),
// acc); Q4_1 also extra = fma(m_w, s_x, extra), added to acc at the store.
template <class Panel, int MR, int NH>
__attribute__((always_inline)) inline void accumulate_q_block(const Panel& p, int h0, const uint8_t* const* xb,
                                                              __m256i (*dot)[NH], __m256 (*acc)[NH],
                                                              __m256 (*extra)[NH]) {
  constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ4_1>;
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.d + 8 * (h0 + h))));
    __m256 m;
    if constexpr (kMins) m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.m + 8 * (h0 + h))));
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(load_f32(xb[t] + offsetof(ActBlockQ8, d))));
      acc[t][h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot[t][h]), acc[t][h]);
      if constexpr (kMins) {
        extra[t][h] = _mm256_fmadd_ps(m, _mm256_set1_ps(load_f32(xb[t] + offsetof(ActBlockQ8, s))), extra[t][h]);
      }
    }
  }
}

// Stores tokens [t0, t0 + MR) of halves h0 .. h0 + NH of the panel at row r0
// (rows of it exist), masked only where the weight ends inside a half: a
// masked store costs ~10x a plain one on Zen 3.
template <class Panel, int MR, int NH>
__attribute__((always_inline)) inline void store_q_tile(const MatmulArgs& a, int64_t t0, int64_t r0, int h0, int rows,
                                                        __m256 (*acc)[NH], __m256 (*extra)[NH]) {
  constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ4_1>;
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) {
    const int live = std::min(8, rows - 8 * (h0 + h));
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256 y = kMins ? _mm256_add_ps(acc[t][h], extra[t][h]) : acc[t][h];
      float* out = a.y + (t0 + t) * a.ldy + r0 + 8 * (h0 + h);
      if (live == 8) {
        _mm256_storeu_ps(out, y);
      } else {
        _mm256_maskstore_ps(out, mask, y);
      }
    }
  }
}

}  // namespace
}  // namespace nucleus::kernels::cpu

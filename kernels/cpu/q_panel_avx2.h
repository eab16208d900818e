// What the AVX2 kernels of the 32-element types in the panel layout of
// q_panel.h share (matmul_q_panel_avx2.cc reads the panels as packed,
// matmul_q_unpacked_avx2.cc unpacks them first): the activation broadcast,
// the weight values, the widening of a block's sums, the float step and the
// row stores.
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

// What the unsigned weight values of a Panel's blocks exceed the true ones
// by (Q4_0: 8, Q5_0: 16), subtracted as offset * sum(x); the signed types
// (Q8_0, IQ4_NL) move w's sign onto x instead, the others have none.
template <class Panel>
constexpr int kUnsignedOffset = std::is_same_v<Panel, PanelBlockQ4_0> ? 8 : std::is_same_v<Panel, PanelBlockQ5_0> ? 16 : 0;

// True for the types with a min term (extra = fma(m_w, s_x, extra)).
template <class Panel>
constexpr bool kHasMin = std::is_same_v<Panel, PanelBlockQ4_1> || std::is_same_v<Panel, PanelBlockQ5_1>;

// Maddubs per 16-bit sum of unsigned weight values: 4-bit values (Q4_0, Q4_1)
// <= 8 * 2 * 15 * 127 = 30480, so a block's 8 groups; 5-bit (Q5_0, Q5_1)
// <= 4 * 2 * 31 * 127 = 31496, so half a block.
template <class Panel>
constexpr int kUnsignedChain =
    std::is_same_v<Panel, PanelBlockQ5_0> || std::is_same_v<Panel, PanelBlockQ5_1> ? 4 : 8;

// 16-bit pair sums widened to the row's int32 sums (madd with ones).
inline __m256i widen_pairs(__m256i sum16) { return _mm256_madd_epi16(sum16, _mm256_set1_epi16(1)); }

// A block's dot product of unsigned weight values made the true one: minus
// kUnsignedOffset * sum(x) (ActBlockQ8::sum, exact).
template <class Panel>
__attribute__((always_inline)) inline __m256i remove_offset(__m256i dot, const uint8_t* xb) {
  if constexpr (kUnsignedOffset<Panel> != 0) {
    return _mm256_add_epi32(dot, _mm256_set1_epi32(-kUnsignedOffset<Panel> * load_i32(xb + offsetof(ActBlockQ8, sum))));
  }
  return dot;
}

// Q5_0 / Q5_1: the 5-bit values of the 8 rows of half h (32-byte offset) of a
// panel block's group g (elements 4g + i) and g + 4 (16 + 4g + i): the
// nibbles with bit g (and 4 + g) of qh moved to bit 4 (16-bit shifts: what
// crosses a byte is masked off).
template <class Panel>
__attribute__((always_inline)) inline void q5_values(const Panel& p, int g, int h, __m256i* lo, __m256i* hi) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.q[g] + 32 * h));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.qh + 32 * h));
  *lo = _mm256_or_si256(_mm256_and_si256(packed, nibble), _mm256_and_si256(_mm256_slli_epi16(qh, 4 - g), bit4));
  *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble),
                        _mm256_and_si256(_mm256_srli_epi16(qh, g), bit4));
}

// The unsigned values of group g and g + 4, as q5_values: Q4_0 / Q4_1's
// nibbles (0..15), Q5_0 / Q5_1's 5-bit values.
template <class Panel>
__attribute__((always_inline)) inline void unsigned_values(const Panel& p, int g, int h, __m256i* lo, __m256i* hi) {
  if constexpr (kUnsignedChain<Panel> == 4) {
    q5_values(p, g, h, lo, hi);
  } else {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.q[g] + 32 * h));
    *lo = _mm256_and_si256(packed, nibble);
    *hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
  }
}

// IQ4_NL: the signed values (kIq4nlValues) of group g and g + 4, as q5_values.
inline void iq4_nl_values(const PanelBlockIQ4_NL& p, int g, int h, __m256i* lo, __m256i* hi) {
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.q[g] + 32 * h));
  *lo = _mm256_shuffle_epi8(table, _mm256_and_si256(packed, nibble));
  *hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble));
}

// The float step of block p for tokens xb[0..MR) and halves h0 .. h0 + NH, in
// the order every path shares (q_panel.h): acc = fma(d_w * d_x, float(dot),
// acc); Q4_1 / Q5_1 also extra = fma(m_w, s_x, extra), added to acc at the store.
template <class Panel, int MR, int NH>
__attribute__((always_inline)) inline void accumulate_q_block(const Panel& p, int h0, const uint8_t* const* xb,
                                                              __m256i (*dot)[NH], __m256 (*acc)[NH],
                                                              __m256 (*extra)[NH]) {
  constexpr bool kMins = kHasMin<Panel>;
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
  constexpr bool kMins = kHasMin<Panel>;
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

// What the prepacked AVX-512 kernels of matmul_k_avx512.cc,
// matmul_k_low_bit_avx512.cc and matmul_q5_avx512.cc share: the panel
// geometry, small loads, and the driver that walks panels and token tiles.
// matmul_q_avx512.cc (Q4_0, Q4_1, Q8_0) takes the geometry and token_strip
// (it walks its panels itself: they may be repacked on every call).
// Include ONLY from *_avx512.cc files (compiled with AVX-512).
//
// A format F provides:
//   static constexpr int64_t kBlockElems;   elements per block: kQK_K (256) or kQK (32)
//   using Panel = ...;   one block of 16 rows, as packed
//   static void pack(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, Panel* out);
//   template <int MR> static void tile(const MatmulArgs&, const Panel* panel, int64_t nb, int64_t t0,
//                                      int64_t r0, __mmask16 live);
// tile<MR> computes tokens [t0, t0 + MR) against one panel; every y[t, r] sees
// the same float operations whatever MR, so tiles and T never change a result.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

constexpr int kPanel = 16;              // weight rows per ZMM register
// Tokens per register tile: 8 weight, 8 integer and 8 float registers of the
// 32. At T = 512 on Zen 4 (kernels_bench, 1 thread) 8 against 6 measured Q2_K
// 243 -> 295 GFLOP/s, Q3_K 270 -> 301, Q4_K 313 -> 322, Q5_K 265 -> 280, Q6_K
// 257 -> 279, IQ4_XS 294 -> 313, Q5_0 291 -> 299 (IQ4_NL 322 -> 315, noise).
constexpr int kMR = 8;
constexpr int64_t kPanelsPerGroup = 4;  // panels every token chunk reuses while they are hot (T > kMR)
constexpr int64_t kTokenChunk = 64;     // token rows kept hot in L1/L2 while a panel group passes
constexpr int64_t kPrefetchBlocks = 2;  // super-blocks fetched ahead (~5-7 KB, as the Q4 kernels' 16 blocks)

// kIq4nlValues + 128 (1..241), once per 128-bit lane: VPSHUFB looks up within
// lanes. IQ4_NL / IQ4_XS weights enter VPDPBUSD as these unsigned bytes.
struct Iq4UnsignedTable {
  uint8_t bytes[64];
};
alignas(64) constexpr Iq4UnsignedTable kIq4Unsigned = [] {
  Iq4UnsignedTable t{};
  for (int i = 0; i < 64; ++i) t.bytes[i] = static_cast<uint8_t>(kIq4nlValues[i % 16] + 128);
  return t;
}();

inline __m512 load_fp16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

inline __m512i load_u8x16_as_i32(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The activation block b of token row x_row: its 4 bytes qs[e .. e + 3] broadcast to every lane.
inline __m512i x_group(const uint8_t* x_row, size_t x_off, int e) {
  return _mm512_set1_epi32(load_i32(x_row + x_off + offsetof(ActBlockQ8K, qs) + e));
}

// Its 16-element sums bsums[2 s], bsums[2 s + 1] as one int32 (two int16) broadcast.
inline __m512i x_bsum_pair(const uint8_t* x_row, size_t x_off, int s) {
  return _mm512_set1_epi32(load_i32(x_row + x_off + offsetof(ActBlockQ8K, bsums) + 4 * s));
}

inline __m512 x_scale(const uint8_t* x_row, size_t x_off) {
  return _mm512_set1_ps(load_f32(x_row + x_off + offsetof(ActBlockQ8K, d)));
}

// Prefetches lines [first, first + count) of the panel block kPrefetchBlocks ahead
// (prefetches never fault: running past the weight's end is harmless).
template <class Panel>
__attribute__((always_inline)) inline void prefetch_ahead(const Panel* panel, int64_t b, size_t first, size_t count) {
  const char* ahead = reinterpret_cast<const char*>(panel + b + kPrefetchBlocks);
  for (size_t line = first; line < first + count; ++line) _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
}

// The float order of every 256-element type, on every path (matmul_scalar.cc):
//   acc = fma(d_w * d_x, float(isum), acc)
inline __m512 k_accumulate(__m512 acc, __m512 d_w, __m512 d_x, __m512i isum) {
  return _mm512_fmadd_ps(_mm512_mul_ps(d_w, d_x), _mm512_cvtepi32_ps(isum), acc);
}
//   acc = fma(-(dmin_w * d_x), float(msum), acc)
inline __m512 k_subtract_mins(__m512 acc, __m512 dmin_w, __m512 d_x, __m512i msum) {
  return _mm512_fnmadd_ps(_mm512_mul_ps(dmin_w, d_x), _mm512_cvtepi32_ps(msum), acc);
}

// The last t1 - t (< kMR) tokens of a strip as one tile.
template <class F, int MR = kMR - 1>
__attribute__((always_inline)) inline void remainder_tile(const MatmulArgs& a, const typename F::Panel* panel,
                                                          int64_t nb, int64_t t, int64_t left, int64_t r0,
                                                          __mmask16 live) {
  if (left == MR) return F::template tile<MR>(a, panel, nb, t, r0, live);
  if constexpr (MR > 1) remainder_tile<F, MR - 1>(a, panel, nb, t, left, r0, live);
}

template <class F>
void token_strip(const MatmulArgs& a, const typename F::Panel* panel, int64_t nb, int64_t t0, int64_t t1, int64_t r0,
                 __mmask16 live) {
  int64_t t = t0;
  for (; t + kMR <= t1; t += kMR) F::template tile<kMR>(a, panel, nb, t, r0, live);
  if (t < t1) remainder_tile<F>(a, panel, nb, t, t1 - t, r0, live);
}

// Rows [r_begin, r_end) (r_begin a multiple of 16) for all tokens; panel k of
// the packed weight starts at super-block k * nb. Panels go in groups that
// every token chunk reuses while they are hot.
template <class F>
void gemm_prepacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nb = a.cols / F::kBlockElems;
  const auto* packed = reinterpret_cast<const typename F::Panel*>(a.w);
  const int64_t group_rows = kPanel * (a.T <= kMR ? 1 : kPanelsPerGroup);
  for (int64_t g0 = r_begin; g0 < r_end; g0 += group_rows) {
    const int64_t g1 = std::min(r_end, g0 + group_rows);
    for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
      const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
      for (int64_t r0 = g0; r0 < g1; r0 += kPanel) {
        const int n = static_cast<int>(std::min<int64_t>(kPanel, g1 - r0));
        token_strip<F>(a, packed + (r0 / kPanel) * nb, nb, tc, tc_end, r0, static_cast<__mmask16>((1u << n) - 1u));
      }
    }
  }
}

template <class F>
void pack_rows(const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols, int64_t r_begin, int64_t r_end,
               uint8_t* out) {
  const int64_t nb = cols / F::kBlockElems;
  auto* packed = reinterpret_cast<typename F::Panel*>(out);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kPanel) {
    const int n = static_cast<int>(std::min<int64_t>(kPanel, rows - r0));
    F::pack(w, w_row_bytes, r0, n, nb, packed + (r0 / kPanel) * nb);
  }
}

template <class F>
size_t packed_bytes(int64_t rows, int64_t cols) {
  if (cols % F::kBlockElems != 0) return 0;
  return static_cast<size_t>((rows + kPanel - 1) / kPanel) * static_cast<size_t>(cols / F::kBlockElems) *
         sizeof(typename F::Panel);
}

}  // namespace
}  // namespace nucleus::kernels::cpu

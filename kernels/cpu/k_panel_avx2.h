// What the AVX2 kernels of the 256-element types in the panel layout of
// k_panel.h share (matmul_k_panel_avx2.cc, matmul_k_low_bit_panel_avx2.cc):
// small loads and the driver that walks panels and token tiles. Include ONLY
// from *_avx2.cc files.
//
// A register holds half a panel: 8 rows, one row per 32-bit lane. A format F provides:
//   using Panel = ...;                 one super-block of 16 rows, as packed
//   static constexpr int kMR;          tokens per register tile (1..4)
//   template <int MR, int NH> static void block(const Panel* panel, int64_t b, int h0,
//                                               const uint8_t* const* xb, __m256 (*acc)[NH]);
// block<MR, NH> adds super-block b of halves [h0, h0 + NH) against MR tokens
// (xb[t]: their ActBlockQ8K for b) into acc[t][h], with the same per-lane
// float operations whatever MR, NH and h0: tiles, T and thread count never
// change a result.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/cpu/register_pin.h"

namespace nucleus::kernels::cpu {
namespace {

constexpr int kHalfRows = 8;            // rows per YMM register: half a panel
constexpr int64_t kTokenChunk = 64;     // token rows kept hot in L1/L2 while a panel passes
constexpr int64_t kPrefetchBlocks = 2;  // panel super-blocks fetched ahead, a few lines per sub-block

inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// 4 bytes at p broadcast to every lane.
inline __m256i bcast4(const uint8_t* p) { return _mm256_set1_epi32(load_i32(p)); }

// 8 unsigned bytes, one per lane, as the int16 pair (v, v) of each lane.
inline __m256i u8_pairs(const uint8_t* p) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}

// 8 unsigned bytes at a and 8 at b, one per lane, as the int16 pair (a, b) of each lane.
inline __m256i u8_two_pairs(const uint8_t* a, const uint8_t* b) {
  const __m256i first = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)));
  const __m256i second = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
  return _mm256_or_si256(first, _mm256_slli_epi32(second, 16));
}

// From an (a, b) int16 pair per lane: (a, a), and (b, b).
inline __m256i pair_first_doubled(__m256i v) {
  return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0x0000FFFF)), _mm256_slli_epi32(v, 16));
}
inline __m256i pair_second_doubled(__m256i v) {
  return _mm256_or_si256(_mm256_srli_epi32(v, 16), _mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

inline __m256 load_fp16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Row tiles of a half panel: 8 floats of row r0 + 8h .. of token row y_row,
// masked only where the weight ends inside the half (a masked store costs
// ~10x a plain one on Zen 3: per tile and block chunk it showed in profiles).
inline __m256 load_rows(const float* p, int rows_left, __m256i mask) {
  return rows_left >= kHalfRows ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}
inline void store_rows(float* p, int rows_left, __m256i mask, __m256 v) {
  if (rows_left >= kHalfRows) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, mask, v);
  }
}

// The activation block of a token for super-block b.
inline const uint8_t* x_block(const uint8_t* x_row, int64_t b) { return x_row + b * sizeof(ActBlockQ8K); }
inline const uint8_t* x_qs(const uint8_t* xb) { return xb + offsetof(ActBlockQ8K, qs); }
inline const uint8_t* x_bsums(const uint8_t* xb) { return xb + offsetof(ActBlockQ8K, bsums); }
inline __m256 x_scale(const uint8_t* xb) { return _mm256_set1_ps(load_f32(xb + offsetof(ActBlockQ8K, d))); }

// A token's 8 sums of 32 activations, bsums[2j] + bsums[2j + 1] (|.| <= 32 *
// 127: int16), as int16 [0 1 2 3 0 1 2 3 | 4 5 6 7 4 5 6 7]; x_sums32_pair(s, k)
// broadcasts the pair (sum_2k, sum_2k+1), for madd against (min_2k, min_2k+1).
inline __m256i x_sums32(const uint8_t* xb) {
  const __m256i sums = _mm256_madd_epi16(load32(x_bsums(xb)), _mm256_set1_epi16(1));
  return _mm256_packs_epi32(sums, sums);
}
inline __m256i x_sums32_pair(__m256i sums32, int k) {
  return _mm256_permutevar8x32_epi32(sums32, _mm256_set1_epi32(k < 2 ? k : k + 2));
}

// The float step of every 256-element type, per row (lane) of half panels
// h0 .. h0 + NH and token t, in the order all paths share (k_quant_avx2.h):
//   acc = fma(d_w * d_x, float(isum), acc), then with mins
//   acc = fma(-(dmin_w * d_x), float(msum), acc)
// d_w and dmin_w hold 8 fp16 scales per half panel.
template <int MR, int NH, bool kMins>
__attribute__((always_inline)) inline void accumulate_super_block(const uint16_t* d_w, const uint16_t* dmin_w, int h0,
                                                                  const uint8_t* const* xb, __m256i (*isum)[NH],
                                                                  __m256i (*msum)[NH], __m256 (*acc)[NH]) {
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) {
    const __m256 d = load_fp16x8(d_w + kHalfRows * (h0 + h));
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256 dx = x_scale(xb[t]);
      acc[t][h] = _mm256_fmadd_ps(_mm256_mul_ps(d, dx), _mm256_cvtepi32_ps(isum[t][h]), acc[t][h]);
      if constexpr (kMins) {
        const __m256 dmin = load_fp16x8(dmin_w + kHalfRows * (h0 + h));
        acc[t][h] = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, dx), _mm256_cvtepi32_ps(msum[t][h]), acc[t][h]);
      }
    }
  }
}

// Every integer sum of an MR x NH tile set to 0.
template <int MR, int NH>
__attribute__((always_inline)) inline void zero_sums(__m256i (*sums)[NH]) {
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) sums[t][h] = _mm256_setzero_si256();
  }
}

// Lines of super-block b + kPrefetchBlocks, part `part` of `parts` (prefetches
// never fault: running past the weight's end is harmless).
template <class Panel>
__attribute__((always_inline)) inline void prefetch_part(const Panel* panel, int64_t b, int part, int parts) {
  constexpr int kLines = static_cast<int>(sizeof(Panel) / 64);
  const char* ahead = reinterpret_cast<const char*>(panel + b + kPrefetchBlocks);
  const int per_part = (kLines + parts - 1) / parts;
  for (int line = part * per_part; line < std::min(kLines, (part + 1) * per_part); ++line) {
    _mm_prefetch(ahead + 64 * line, _MM_HINT_T0);
  }
}

// Tokens [t0, t0 + MR) against halves [h0, h0 + NH) of the panel of rows
// [r0, r0 + rows), super-blocks [b0, b1); writes only the rows that exist.
// For b0 > 0 the accumulators continue from what the tile of [.., b0) stored
// in y: a float stored and loaded back is the same float, so splitting the
// super-blocks into ranges leaves every output's sequence of FMAs unchanged.
template <class F, int MR, int NH>
__attribute__((always_inline)) inline void tile(const MatmulArgs& a, const typename F::Panel* panel, int64_t b0,
                                                int64_t b1, int64_t t0, int64_t r0, int h0, int rows) {
  __m256 acc[MR][NH];
  __m256i mask[NH];
  const uint8_t* x_rows[MR];
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) mask[h] = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows - kHalfRows * (h0 + h)), lane);
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      acc[t][h] = b0 == 0 ? _mm256_setzero_ps()
                          : load_rows(a.y + (t0 + t) * a.ldy + r0 + kHalfRows * (h0 + h), rows - kHalfRows * (h0 + h), mask[h]);
    }
  }
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* xb[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) xb[t] = x_block(x_rows[t], b);
    F::template block<MR, NH>(panel, b, h0, xb, acc);
  }
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) {
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      store_rows(a.y + (t0 + t) * a.ldy + r0 + kHalfRows * (h0 + h), rows - kHalfRows * (h0 + h), mask[h], acc[t][h]);
    }
  }
}

template <class F>
void token_strip(const MatmulArgs& a, const typename F::Panel* panel, int64_t b0, int64_t b1, int64_t t0, int64_t t1,
                 int64_t r0, int h0, int rows) {
  constexpr int kMR = F::kMR;
  int64_t t = t0;
  for (; t + kMR <= t1; t += kMR) tile<F, kMR, 1>(a, panel, b0, b1, t, r0, h0, rows);
  switch (t1 - t) {
    case 1: tile<F, 1, 1>(a, panel, b0, b1, t, r0, h0, rows); break;
    case 2: if constexpr (kMR > 2) tile<F, 2, 1>(a, panel, b0, b1, t, r0, h0, rows); break;
    case 3: if constexpr (kMR > 3) tile<F, 3, 1>(a, panel, b0, b1, t, r0, h0, rows); break;
    default: break;
  }
  static_assert(kMR <= 4, "the remainder switch covers 1..3");
}

// Rows [r_begin, r_end) (r_begin a multiple of 16) for all tokens; panel k of
// the packed weight starts at super-block k * nb. Decode takes both halves of
// a panel in one pass (one sequential stream). Prefill takes a half at a
// time, kBlockChunk super-blocks at a time: that part of the panel (~19 KB)
// stays in L1 while every token tile of the chunk passes, where a whole
// panel of long rows (76 KB for 8192 columns of Q4_K) would come from L2.
template <class F>
void gemm_prepacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  constexpr int64_t kBlockChunk = 8;
  const int64_t nb = a.cols / kQK_K;
  const auto* packed = reinterpret_cast<const typename F::Panel*>(a.w);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kKPanelRows) {
    const auto* panel = packed + (r0 / kKPanelRows) * nb;
    const int rows = static_cast<int>(std::min<int64_t>(kKPanelRows, r_end - r0));
    if (a.T == 1) {
      if (rows > kHalfRows) {
        tile<F, 1, 2>(a, panel, 0, nb, 0, r0, 0, rows);
      } else {
        tile<F, 1, 1>(a, panel, 0, nb, 0, r0, 0, rows);
      }
      continue;
    }
    for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
      const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
      for (int64_t b0 = 0; b0 < nb; b0 += kBlockChunk) {
        const int64_t b1 = std::min(nb, b0 + kBlockChunk);
        for (int h = 0; h < 2 && kHalfRows * h < rows; ++h) token_strip<F>(a, panel, b0, b1, tc, tc_end, r0, h, rows);
      }
    }
  }
}

}  // namespace
}  // namespace nucleus::kernels::cpu

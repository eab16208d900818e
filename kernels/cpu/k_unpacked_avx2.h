// Prefill (many tokens) for the 256-element types in the panel layout of
// k_panel.h on AVX2: a few super-blocks of a panel are unpacked once into
// plain unsigned bytes in a small scratch (L1/L2), and every token then runs a
// microkernel that only multiplies. Include ONLY from *_avx2.cc files.
//
// Why: the decode-shaped kernel of k_panel_avx2.h unpacks the nibbles (and
// fifth or high bits) again for every tile of 4 tokens and broadcasts each
// activation group for one register of 8 rows. Its loop issues about 3.5
// vector operations per maddubs, so on a CPU with 4 vector pipes it cannot
// pass ~40% of the maddubs peak (Zen 3, bench/kernels_bench). Here the weight
// values are plain loads, a broadcast feeds both halves of a panel (16 rows),
// and the 16-bit sums run as long as the format's bound allows, so a maddubs
// costs about 2.5-3 operations: Q4_K 161 -> 210 GFLOP/s per core, about half
// the maddubs peak.
//
// Results are bitwise those of every other path: the integer sums of a
// super-block are exact whatever their order, and the float step is the
// shared accumulate_super_block (k_panel_avx2.h).
//
// A format F (matmul_k_panel_avx2.cc) adds to what k_panel_avx2.h asks:
//   static constexpr int kChain;   maddubs per 16-bit sum (its int16 bound), 2, 4 or 8
//   static constexpr bool kMins;   true: the correction is msum, scaled by dmin
//                                  (Q4_K, Q5_K, Q2_K); false: an offset, isum -=
//                                  correction << kOffsetShift (Q6_K: 32, Q3_K: 4)
//   static constexpr bool kMinsPer32;  mins per 32 elements (Q4_K, Q5_K), not per 16
//   static constexpr int kOffsetShift;
//   static void unpack(const Panel& p, int h, UnpackedHalf* out);
//   static const uint16_t* dmin_of(const Panel& p);   the mins' fp16 scales, or nullptr
//   static constexpr int kUnpackedMR;  tokens per microkernel tile (1..4)
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/k_panel_avx2.h"

namespace nucleus::kernels::cpu {
namespace {

// Half a panel (8 rows) of one super-block, unpacked. Groups are in the
// activation's order: group gg of sub-block j holds, in lane r, elements
// 32 j + 4 gg + i (i = 0..3) of row r as unsigned bytes.
struct alignas(32) UnpackedHalf {
  uint8_t w[8][8][32];      // [sub-block][group][lane r * 4 + i]
  int16_t scale[8][2][16];  // [sub-block][elements 0..15, 16..31][lane pair]: (s, s) per lane, for madd
  int16_t corr[8][16];      // [k][lane pair], madd'ed with activation pairs: with mins (Q4_K, Q5_K), k < 4:
                            // (min_2k, min_2k+1) against the sums of 32 elements 2k, 2k + 1; else k < 8:
                            // the pairs against (bsums[2k], bsums[2k + 1])
};

constexpr int kUnpackedChunk = 8;  // super-blocks unpacked at a time (45 KB): fewer accumulator reloads; 8 measured ahead of 2 and 4

// Sub-block j of tokens xb[0..MR) against halves uh[0..NH): isum[t][h] +=
// scale * (16-bit sum of kChain maddubs), group by group: all MR x NH 16-bit
// sums are live while one weight register per half serves every token.
template <int kChain, int MR, int NH>
__attribute__((always_inline)) inline void sub_block_group_major(const UnpackedHalf* uh, const uint8_t* const* xb, int j,
                                                                 __m256i (*isum)[NH]) {
#pragma GCC unroll 4
  for (int g0 = 0; g0 < 8; g0 += kChain) {
    __m256i sum16[MR][NH];
#pragma GCC unroll 8
    for (int g = g0; g < g0 + kChain; ++g) {
      __m256i w[NH];
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) w[h] = load32(uh[h].w[j][g]);
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m256i x = bcast4(x_qs(xb[t]) + 32 * j + 4 * g);
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i m = _mm256_maddubs_epi16(w[h], x);
          sum16[t][h] = g == g0 ? m : _mm256_add_epi16(sum16[t][h], m);
          pin_register(sum16[t][h]);
        }
      }
    }
    const int seg = g0 / 4;  // elements 0..15 or 16..31 (kChain <= 4); 0 for a whole sub-block
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(sum16[t][h], load32(reinterpret_cast<const uint8_t*>(uh[h].scale[j][seg]))));
        pin_register(isum[t][h]);
      }
    }
  }
}

// The same for chains of 2 maddubs (Q6_K), token by token: one 16-bit sum is
// live at a time while 2 x NH weight registers serve every token. Group by
// group, MR x NH sums next to MR x NH accumulators spilled: +7-8% on Zen 3
// (bench/kernels_bench, Q6_K 2048x8192, T = 512: 161 -> 173-175 GFLOP/s).
template <int MR, int NH>
__attribute__((always_inline)) inline void sub_block_token_major(const UnpackedHalf* uh, const uint8_t* const* xb, int j,
                                                                 __m256i (*isum)[NH]) {
#pragma GCC unroll 4
  for (int g0 = 0; g0 < 8; g0 += 2) {
    __m256i w0[NH], w1[NH];
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      w0[h] = load32(uh[h].w[j][g0]);
      w1[h] = load32(uh[h].w[j][g0 + 1]);
    }
    const int seg = g0 / 4;
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256i x0 = bcast4(x_qs(xb[t]) + 32 * j + 4 * g0);
      const __m256i x1 = bcast4(x_qs(xb[t]) + 32 * j + 4 * g0 + 4);
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        const __m256i sum16 = _mm256_add_epi16(_mm256_maddubs_epi16(w0[h], x0), _mm256_maddubs_epi16(w1[h], x1));
        isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(sum16, load32(reinterpret_cast<const uint8_t*>(uh[h].scale[j][seg]))));
        pin_register(isum[t][h]);
      }
    }
  }
}

// Tokens [t0, t0 + MR) against halves [0, NH) of super-blocks [b0, b0 + nb)
// of one panel (unpacked: u[bi][h]); accumulators continue from y when b0 > 0
// (the same float sequence as one pass, as tile() in k_panel_avx2.h).
template <class F, int MR, int NH>
__attribute__((always_inline)) inline void unpacked_tile(const MatmulArgs& a, const typename F::Panel* panel,
                                                         const UnpackedHalf (*u)[2], int64_t b0, int64_t nb, int64_t t0,
                                                         int64_t r0, int rows) {
  __m256 acc[MR][NH];
  __m256i mask[NH];
  const uint8_t* x_rows[MR];
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) mask[h] = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows - kHalfRows * h), lane);
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      acc[t][h] = b0 == 0 ? _mm256_setzero_ps() : load_rows(a.y + (t0 + t) * a.ldy + r0 + kHalfRows * h, rows - kHalfRows * h, mask[h]);
    }
  }
  for (int64_t bi = 0; bi < nb; ++bi) {
    const UnpackedHalf* uh = u[bi];
    const uint8_t* xb[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) xb[t] = x_block(x_rows[t], b0 + bi);
    __m256i isum[MR][NH];
    zero_sums<MR, NH>(isum);
#pragma GCC unroll 1
    for (int j = 0; j < 8; ++j) {
      if constexpr (F::kChain == 2) {
        sub_block_token_major<MR, NH>(uh, xb, j, isum);
      } else {
        sub_block_group_major<F::kChain, MR, NH>(uh, xb, j, isum);
      }
    }
    __m256i corr[MR][NH];
    zero_sums<MR, NH>(corr);
    if constexpr (F::kMinsPer32) {
      // msum = sum_j min_j * (bsums[2j] + bsums[2j + 1]): per token the 8 sums of
      // 32 as 4 pairs, against the (min_2k, min_2k+1) pairs.
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m256i sums32 = x_sums32(xb[t]);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m256i bs = x_sums32_pair(sums32, k);
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            corr[t][h] = _mm256_add_epi32(corr[t][h], _mm256_madd_epi16(load32(reinterpret_cast<const uint8_t*>(uh[h].corr[k])), bs));
            pin_register(corr[t][h]);
          }
        }
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
#pragma GCC unroll 8
        for (int t = 0; t < MR; ++t) {
          const __m256i bsums = bcast4(x_bsums(xb[t]) + 4 * j);
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            corr[t][h] = _mm256_add_epi32(corr[t][h], _mm256_madd_epi16(load32(reinterpret_cast<const uint8_t*>(uh[h].corr[j])), bsums));
            pin_register(corr[t][h]);
          }
        }
      }
    }
    if constexpr (!F::kMins) {
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) isum[t][h] = _mm256_sub_epi32(isum[t][h], _mm256_slli_epi32(corr[t][h], F::kOffsetShift));
      }
    }
    const auto& p = panel[b0 + bi];
    accumulate_super_block<MR, NH, F::kMins>(p.d, F::dmin_of(p), 0, xb, isum, corr, acc);
  }
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) {
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) store_rows(a.y + (t0 + t) * a.ldy + r0 + kHalfRows * h, rows - kHalfRows * h, mask[h], acc[t][h]);
  }
}

// Tokens [t_begin, t_end) of one panel's unpacked chunk, in tiles of F::kUnpackedMR.
template <class F, int NH>
void unpacked_strip(const MatmulArgs& a, const typename F::Panel* panel, const UnpackedHalf (*u)[2], int64_t b0,
                    int64_t nb, int64_t t_begin, int64_t t_end, int64_t r0, int rows) {
  constexpr int kMR = F::kUnpackedMR;
  int64_t t = t_begin;
  for (; t + kMR <= t_end; t += kMR) unpacked_tile<F, kMR, NH>(a, panel, u, b0, nb, t, r0, rows);
  switch (t_end - t) {
    case 1: unpacked_tile<F, 1, NH>(a, panel, u, b0, nb, t, r0, rows); break;
    case 2: if constexpr (kMR > 2) unpacked_tile<F, 2, NH>(a, panel, u, b0, nb, t, r0, rows); break;
    case 3: if constexpr (kMR > 3) unpacked_tile<F, 3, NH>(a, panel, u, b0, nb, t, r0, rows); break;
    default: break;
  }
  static_assert(kMR <= 4, "the remainder switch covers 1..3");
}

// Rows [r_begin, r_end) (r_begin a multiple of 16) for all a.T tokens. Tokens
// go in slabs whose activations (~256 KB) stay in L2 while every panel of the
// row range passes; the weights stream from memory once per slab, which at
// these token counts costs far less than the multiplies. A slab has at least
// 112 tokens, so long rows (an FFN down projection, 8192 columns: 28 tokens
// would fit) unpack each chunk less often and reload fewer accumulators:
// Zen 3, 1B Q4_K_M prefill 512, 6 interleaved pairs, never slower, median +4%.
template <class F>
void gemm_unpacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  constexpr int64_t kSlabBytes = 256 << 10;
  constexpr int64_t kMinSlabTokens = 112;
  constexpr int kMR = F::kUnpackedMR;
  const int64_t nb_all = a.cols / kQK_K;
  const int64_t slab_tokens =
      std::max<int64_t>(kMinSlabTokens, kSlabBytes / static_cast<int64_t>(a.x_row_bytes) / kMR * kMR);
  const auto* packed = reinterpret_cast<const typename F::Panel*>(a.w);
  UnpackedHalf scratch[kUnpackedChunk][2];
  for (int64_t t0 = 0; t0 < a.T; t0 += slab_tokens) {
    const int64_t t1 = std::min(a.T, t0 + slab_tokens);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kKPanelRows) {
      const auto* panel = packed + (r0 / kKPanelRows) * nb_all;
      const int rows = static_cast<int>(std::min<int64_t>(kKPanelRows, r_end - r0));
      const int halves = rows > kHalfRows ? 2 : 1;
      for (int64_t b0 = 0; b0 < nb_all; b0 += kUnpackedChunk) {
        const int64_t nb = std::min<int64_t>(kUnpackedChunk, nb_all - b0);
        for (int64_t bi = 0; bi < nb; ++bi) {
          // The next chunk's packed lines into L2 while this one is multiplied: at
          // small batches the weights stream from DRAM (prefetches never fault).
          const char* next = reinterpret_cast<const char*>(panel + b0 + bi + kUnpackedChunk);
          for (size_t line = 0; line < sizeof(typename F::Panel); line += 64) _mm_prefetch(next + line, _MM_HINT_T1);
          for (int h = 0; h < halves; ++h) F::unpack(panel[b0 + bi], h, &scratch[bi][h]);
        }
        if (halves == 2) {
          unpacked_strip<F, 2>(a, panel, scratch, b0, nb, t0, t1, r0, rows);
        } else {
          unpacked_strip<F, 1>(a, panel, scratch, b0, nb, t0, t1, r0, rows);
        }
      }
    }
  }
}

// Decode and small batches keep the panel-reading kernel (k_panel_avx2.h);
// from kMinUnpackedTokens on (matmul_kernels.h), each panel is unpacked once.
template <class F>
void gemm_k_panel(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  if (a.T >= kMinUnpackedTokens) {
    gemm_unpacked<F>(a, r_begin, r_end);
  } else {
    gemm_prepacked<F>(a, r_begin, r_end);
  }
}

}  // namespace
}  // namespace nucleus::kernels::cpu

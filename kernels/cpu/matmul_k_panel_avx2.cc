// AVX2 kernels for Q4_K, Q5_K and Q6_K weights in the panel layout of
// k_panel.h (packed once at load), against ActBlockQ8K activations: the
// panel-reading kernel below for decode (T < kMinUnpackedTokens), and
// unpacked chunks (k_unpacked_avx2.h) for batches and prefill.
//
// A register holds half a panel: 8 rows, one row per 32-bit lane, so each
// row's integer sums stay in its lane and there is no horizontal reduction.
// Per super-block and lane, everything up to the scales is exact integer
// arithmetic: the 4 weight bytes of a group meet the token's 4 activation
// bytes (broadcast) through maddubs (u8 x s8 -> pairs summed to s16); a few
// of those are summed in 16 bits (bounds below), then madd multiplies them by
// the sub-block scale (the same scale in both 16-bit halves of a lane) into
// 32 bits. The float part is the one every path computes (matmul_scalar.cc,
// matmul_k_avx512.cc, k_quant_avx2.h), a vector FMA being the same per-lane FMA:
//   acc = fma(d_w * d_x, float(isum), acc); acc = fma(-(dmin_w * d_x), float(msum), acc)
// so all paths agree bitwise, whatever the tile, T or thread count.
//
// 16-bit bounds (activations are in [-127, 127], quantize_act.cc):
//   Q4_K: nibbles <= 15: 8 maddubs (a sub-block) <= 8 * 2 * 15 * 127 = 30480.
//   Q5_K: values <= 31: 4 maddubs (half a sub-block) <= 4 * 2 * 31 * 127 = 31496.
//   Q6_K: values <= 63: 2 maddubs (8 of the 16 elements of one scale) <= 2 * 2 * 63 * 127 = 32004;
//         the -32 offset is subtracted as 32 * sum(scale * bsum), exactly.
#include <immintrin.h>

#include <type_traits>

#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/k_panel_avx2.h"
#include "kernels/cpu/k_unpacked_avx2.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

// ---- Q4_K and Q5_K ---------------------------------------------------------------

// One super-block of a Q4_K or Q5_K panel: halves [h0, h0 + NH) against MR
// tokens (xb[t]: their activation blocks), into acc.
template <int MR, int NH, class Panel>
__attribute__((always_inline)) inline void block_q45_k(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb,
                                                       __m256 (*acc)[NH]) {
  constexpr bool kFifthBit = std::is_same_v<Panel, PanelBlockQ5_K>;
  // Unpack first (below) for Q5_K, and for Q4_K when tokens share the
  // unpacking; a single decode token keeps 4 groups per 16-bit sum, its
  // fewest widenings. Measured on Zen 3 (kernels_bench, Q4_K 8192 x 2048):
  // unpack first 161 against 145 GFLOP/s at T = 512, 100 against 118 at T = 1.
  constexpr bool kUnpackFirst = kFifthBit || MR > 1;
  constexpr int kGroupsPerSum = kUnpackFirst ? 2 : 4;  // groups summed in 16 bits (bounds above)
  const Panel& p = panel[b];
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256i isum[MR][NH];
  zero_sums<MR, NH>(isum);
#pragma GCC unroll 1
  for (int j = 0; j < 8; ++j) {
    prefetch_part(panel, b, j, 8);
    __m256i scale[NH], qh[NH];
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const int lane0 = kHalfRows * (h0 + h);
      scale[h] = u8_pairs(p.scales[j] + lane0);
      pin_register(scale[h]);
      if constexpr (kFifthBit) qh[h] = load32(p.qh[j] + 4 * lane0);
    }
#pragma GCC unroll 2
    for (int g0 = 0; g0 < 4; g0 += kGroupsPerSum) {
      if constexpr (kUnpackFirst) {
        // Both groups' values first, then each token takes its four maddubs
        // and widens them at once: no 16-bit sum outlives a token, so the
        // unpacked values fit beside the token loop in the 16 YMM registers.
        __m256i lo[2][NH], hi[2][NH];  // elements 4g + i and 16 + 4g + i, 0..15 (Q4_K) or 0..31 (Q5_K)
#pragma GCC unroll 2
        for (int k = 0; k < 2; ++k) {
          const int g = g0 + k;
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            const __m256i packed = load32(p.q[j][g] + 4 * kHalfRows * (h0 + h));
            lo[k][h] = _mm256_and_si256(packed, nibble);
            hi[k][h] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
            if constexpr (kFifthBit) {
              // Bits g and 4 + g of qh moved to bit 4 (16-bit shifts: what crosses a byte is masked off).
              const __m256i bit4 = _mm256_set1_epi8(0x10);
              lo[k][h] = _mm256_or_si256(lo[k][h], _mm256_and_si256(_mm256_slli_epi16(qh[h], 4 - g), bit4));
              hi[k][h] = _mm256_or_si256(hi[k][h], _mm256_and_si256(_mm256_srli_epi16(qh[h], g), bit4));
            }
          }
        }
#pragma GCC unroll 8
        for (int t = 0; t < MR; ++t) {
          const uint8_t* xq = x_qs(xb[t]) + 32 * j + 4 * g0;
          const __m256i x_lo0 = bcast4(xq), x_hi0 = bcast4(xq + 16), x_lo1 = bcast4(xq + 4), x_hi1 = bcast4(xq + 20);
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            const __m256i sum16 =
                _mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo[0][h], x_lo0), _mm256_maddubs_epi16(hi[0][h], x_hi0)),
                                 _mm256_add_epi16(_mm256_maddubs_epi16(lo[1][h], x_lo1), _mm256_maddubs_epi16(hi[1][h], x_hi1)));
            isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(sum16, scale[h]));
          }
        }
        continue;
      }
      __m256i sum16[MR][NH];
      zero_sums<MR, NH>(sum16);
#pragma GCC unroll 4
      for (int g = g0; g < g0 + kGroupsPerSum; ++g) {
        __m256i lo[NH], hi[NH];  // elements 4g + i and 16 + 4g + i, 0..15
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i packed = load32(p.q[j][g] + 4 * kHalfRows * (h0 + h));
          lo[h] = _mm256_and_si256(packed, nibble);
          hi[h] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
        }
#pragma GCC unroll 8
        for (int t = 0; t < MR; ++t) {
          const uint8_t* xq = x_qs(xb[t]) + 32 * j;
          const __m256i x_lo = bcast4(xq + 4 * g), x_hi = bcast4(xq + 16 + 4 * g);
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo[h], x_lo), _mm256_maddubs_epi16(hi[h], x_hi));
            sum16[t][h] = _mm256_add_epi16(sum16[t][h], pairs);
            pin_register(sum16[t][h]);
            // A token's 16-bit sum is widened as soon as it is complete, which frees its register.
            if (g == g0 + kGroupsPerSum - 1) isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(sum16[t][h], scale[h]));
          }
        }
      }
    }
  }
  // msum = sum_j min_j * (bsums[2j] + bsums[2j + 1]).
  __m256i msum[MR][NH];
  zero_sums<MR, NH>(msum);
  if constexpr (MR == 1) {
    // Decode: the token's 8 sums of 32 as 4 pairs, against (min_2k, min_2k+1)
    // pairs: 4 madds per half instead of 8, as in k_unpacked_avx2.h. Zen 3,
    // Q4_K at T = 1: 2-7% faster; with 4 tokens it measured 5% slower than the
    // bsum pairs below.
    const __m256i sums32 = x_sums32(xb[0]);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i bs = x_sums32_pair(sums32, k);
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        const int lane0 = kHalfRows * (h0 + h);
        const __m256i mins = u8_two_pairs(p.mins[2 * k] + lane0, p.mins[2 * k + 1] + lane0);
        msum[0][h] = _mm256_add_epi32(msum[0][h], _mm256_madd_epi16(mins, bs));
        pin_register(msum[0][h]);
      }
    }
  } else {
    // Pairs (min_j, min_j) against the token's bsum pair (bsums[2j], bsums[2j + 1]).
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i mins[NH];
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) mins[h] = u8_pairs(p.mins[j] + kHalfRows * (h0 + h));
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m256i bsums = bcast4(x_bsums(xb[t]) + 4 * j);
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          msum[t][h] = _mm256_add_epi32(msum[t][h], _mm256_madd_epi16(mins[h], bsums));
          pin_register(msum[t][h]);
        }
      }
    }
  }
  accumulate_super_block<MR, NH, true>(p.d, p.dmin, h0, xb, isum, msum, acc);
}

// ---- Q6_K ------------------------------------------------------------------------

template <int MR, int NH>
__attribute__((always_inline)) inline void block_q6_k(const PanelBlockQ6_K* panel, int64_t b, int h0,
                                                      const uint8_t* const* xb, __m256 (*acc)[NH]) {
  const PanelBlockQ6_K& p = panel[b];
  const __m256i nibble = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
  __m256i isum[MR][NH];
  zero_sums<MR, NH>(isum);
#pragma GCC unroll 1
  for (int s = 0; s < 8; ++s) {
    prefetch_part(panel, b, s, 8);
    const int pair = s / 2;
    const bool second = (s & 1) != 0;  // the group's 2-bit fields are bits 4..7 of qh, not 0..3
    // Lane r: (scale of elements 0..15, of 16..31) as int16, and each doubled.
    __m256i scales[NH], scale_lo[NH], scale_hi[NH];
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      scales[h] = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scales[s][kHalfRows * (h0 + h)])));
      scale_lo[h] = pair_first_doubled(scales[h]);
      scale_hi[h] = pair_second_doubled(scales[h]);
    }
#pragma GCC unroll 2
    for (int g0 = 0; g0 < 4; g0 += 2) {
      __m256i sum_lo[MR][NH], sum_hi[MR][NH];
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) sum_lo[t][h] = sum_hi[t][h] = _mm256_setzero_si256();
      }
#pragma GCC unroll 2
      for (int g = g0; g < g0 + 2; ++g) {
        __m256i lo[NH], hi[NH];  // elements 4g + i and 16 + 4g + i, 0..63
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const int off = 4 * kHalfRows * (h0 + h);
          const __m256i l = load32(p.ql[s][g] + off), q = load32(p.qh[pair][g] + off);
          // This group's high bits moved to bits 4..5 (what crosses a byte is masked off).
          const __m256i q_lo = second ? q : _mm256_slli_epi16(q, 4);
          const __m256i q_hi = second ? _mm256_srli_epi16(q, 2) : _mm256_slli_epi16(q, 2);
          lo[h] = _mm256_or_si256(_mm256_and_si256(l, nibble), _mm256_and_si256(q_lo, high2));
          hi[h] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), nibble), _mm256_and_si256(q_hi, high2));
        }
#pragma GCC unroll 8
        for (int t = 0; t < MR; ++t) {
          const uint8_t* xq = x_qs(xb[t]) + 32 * s;
          const __m256i x_lo = bcast4(xq + 4 * g), x_hi = bcast4(xq + 16 + 4 * g);
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            sum_lo[t][h] = _mm256_add_epi16(sum_lo[t][h], _mm256_maddubs_epi16(lo[h], x_lo));
            sum_hi[t][h] = _mm256_add_epi16(sum_hi[t][h], _mm256_maddubs_epi16(hi[h], x_hi));
          }
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i both = _mm256_add_epi32(_mm256_madd_epi16(sum_lo[t][h], scale_lo[h]),
                                                _mm256_madd_epi16(sum_hi[t][h], scale_hi[h]));
          isum[t][h] = _mm256_add_epi32(isum[t][h], both);
        }
      }
    }
    // The stored values are q - 32: subtract 32 * (scale_lo * bsums[2s] + scale_hi * bsums[2s + 1]).
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256i bsums = bcast4(x_bsums(xb[t]) + 4 * s);
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        isum[t][h] = _mm256_sub_epi32(isum[t][h], _mm256_slli_epi32(_mm256_madd_epi16(scales[h], bsums), 5));
      }
    }
  }
  accumulate_super_block<MR, NH, false>(p.d, nullptr, h0, xb, isum, nullptr, acc);
}

// ---- Unpacking for prefill (k_unpacked_avx2.h) ------------------------------------

inline void store32(void* p, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }

// Half h of a Q4_K or Q5_K super-block: values 0..15 or 0..31, the scale
// pairs (both segments the same) and the (min_2k, min_2k+1) pairs as the
// correction.
template <class Panel>
void unpack_q45_k(const Panel& p, int h, UnpackedHalf* u) {
  constexpr bool kFifthBit = std::is_same_v<Panel, PanelBlockQ5_K>;
  const __m256i nibble = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  const int lane0 = kHalfRows * h;
  for (int j = 0; j < 8; ++j) {
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFifthBit) qh = load32(p.qh[j] + 4 * lane0);
    for (int g = 0; g < 4; ++g) {
      const __m256i packed = load32(p.q[j][g] + 4 * lane0);
      __m256i lo = _mm256_and_si256(packed, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
      if constexpr (kFifthBit) {
        // Bits g and 4 + g of qh moved to bit 4 (16-bit shifts: what crosses a byte is masked off).
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - g)), bit4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(g)), bit4));
      }
      store32(u->w[j][g], lo);
      store32(u->w[j][4 + g], hi);
    }
    const __m256i scale = u8_pairs(p.scales[j] + lane0);
    store32(u->scale[j][0], scale);
    store32(u->scale[j][1], scale);
  }
  for (int k = 0; k < 4; ++k) store32(u->corr[k], u8_two_pairs(p.mins[2 * k] + lane0, p.mins[2 * k + 1] + lane0));
}

// Half h of a Q6_K super-block: values 0..63 (the stored q + 32), the scale
// pairs of each 16-element segment, and the (s_lo, s_hi) pairs for the -32
// offset as the correction.
inline void unpack_q6_k(const PanelBlockQ6_K& p, int h, UnpackedHalf* u) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
  const int lane0 = kHalfRows * h;
  for (int s = 0; s < 8; ++s) {
    const int pair = s / 2;
    const bool second = (s & 1) != 0;  // the group's 2-bit fields are bits 4..7 of qh, not 0..3
    for (int g = 0; g < 4; ++g) {
      const __m256i l = load32(p.ql[s][g] + 4 * lane0), q = load32(p.qh[pair][g] + 4 * lane0);
      // This group's high bits moved to bits 4..5 (what crosses a byte is masked off).
      const __m256i q_lo = second ? q : _mm256_slli_epi16(q, 4);
      const __m256i q_hi = second ? _mm256_srli_epi16(q, 2) : _mm256_slli_epi16(q, 2);
      store32(u->w[s][g], _mm256_or_si256(_mm256_and_si256(l, nibble), _mm256_and_si256(q_lo, high2)));
      store32(u->w[s][4 + g],
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), nibble), _mm256_and_si256(q_hi, high2)));
    }
    const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scales[s][lane0])));
    store32(u->scale[s][0], pair_first_doubled(scales));
    store32(u->scale[s][1], pair_second_doubled(scales));
    store32(u->corr[s], scales);
  }
}

// ---- The formats (k_panel_avx2.h, k_unpacked_avx2.h) ---------------------------------

// Q4_K with PanelBlockQ4_K, Q5_K with PanelBlockQ5_K (the fifth bits: block_q45_k).
template <class PanelBlock>
struct Q45KFormat {
  using Panel = PanelBlock;
  static constexpr int kMR = 4;
  static constexpr int kUnpackedMR = 4;
  // 16-bit bounds (header): Q4_K 8 maddubs of values <= 15; Q5_K 4 of values <= 31.
  static constexpr int kChain = std::is_same_v<Panel, PanelBlockQ5_K> ? 4 : 8;
  static constexpr bool kMins = true;
  static constexpr bool kMinsPer32 = true;
  static constexpr int kOffsetShift = 0;
  template <int MR, int NH>
  static void block(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb, __m256 (*acc)[NH]) {
    block_q45_k<MR, NH, Panel>(panel, b, h0, xb, acc);
  }
  static void unpack(const Panel& p, int h, UnpackedHalf* u) { unpack_q45_k(p, h, u); }
  static const uint16_t* dmin_of(const Panel& p) { return p.dmin; }
};
using Q4KFormat = Q45KFormat<PanelBlockQ4_K>;
using Q5KFormat = Q45KFormat<PanelBlockQ5_K>;
struct Q6KFormat {
  using Panel = PanelBlockQ6_K;
  static constexpr int kMR = 4;  // 3 (all sums in registers) measured 1.5x slower at T = 512: decoding amortizes worse
  static constexpr int kUnpackedMR = 4;
  static constexpr int kChain = 2;  // values <= 63 (header)
  static constexpr bool kMins = false;
  static constexpr bool kMinsPer32 = false;
  static constexpr int kOffsetShift = 5;  // the stored values are q + 32
  template <int MR, int NH>
  static void block(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb, __m256 (*acc)[NH]) {
    block_q6_k<MR, NH>(panel, b, h0, xb, acc);
  }
  static void unpack(const Panel& p, int h, UnpackedHalf* u) { unpack_q6_k(p, h, u); }
  static const uint16_t* dmin_of(const Panel&) { return nullptr; }
};

}  // namespace

MatmulKernel avx2_k_panel_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_K: return gemm_k_panel<Q4KFormat>;
    case GgmlType::Q5_K: return gemm_k_panel<Q5KFormat>;
    case GgmlType::Q6_K: return gemm_k_panel<Q6KFormat>;
    default: return avx2_low_bit_k_panel_kernel(type);
  }
}

}  // namespace nucleus::kernels::cpu

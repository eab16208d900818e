// AVX2 kernels for Q2_K, Q3_K and IQ4_XS weights in the panel layout of
// k_panel.h (packed once at load), against ActBlockQ8K activations; the
// driver, the half-panel registers and the float order are those of
// k_panel_avx2.h (one row per 32-bit lane, exact integer sums per lane, then
//   acc = fma(d_w * d_x, float(isum), acc)   (Q2_K also: acc = fma(-(dmin_w * d_x), float(msum), acc))
// as on every other path: bitwise equal results). From kMinUnpackedTokens
// tokens on, Q2_K and Q3_K run the unpacked microkernel of k_unpacked_avx2.h.
//
// Q2_K / Q3_K: a 32-element group is 8 registers of unsigned bytes (Q3_K:
// value + 4, 0..7); the 4 maddubs of each 16-element half add up in 16 bits
// (<= 4 * 2 * 7 * 127 = 7112), then madd multiplies them by that half's
// scale. Q2_K's mins and Q3_K's -4 offset meet the token's 16-element sums.
// IQ4_XS: a nibble becomes its signed kIq4nlValues entry with one pshufb;
// maddubs takes |w| and x with w's sign (x is in [-127, 127], quantize_act.cc,
// so negating it never wraps; pairs <= 2 * 127 * 127 = 32258, no saturation)
// and each pair sum is multiplied by the sub-block scale by madd.
#include <immintrin.h>

#include <type_traits>

#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/k_panel_avx2.h"
#include "kernels/cpu/k_unpacked_avx2.h"
#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

// ---- Q2_K and Q3_K -------------------------------------------------------------

template <int MR, int NH, class Panel>
__attribute__((always_inline)) inline void block_q23_k(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb,
                                                       __m256 (*acc)[NH]) {
  constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ2_K>;
  const Panel& p = panel[b];
  const __m256i three = _mm256_set1_epi8(3), bit2 = _mm256_set1_epi8(4);
  __m256i isum[MR][NH], msum[MR][NH];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) isum[t][h] = msum[t][h] = _mm256_setzero_si256();
  }
#pragma GCC unroll 1
  for (int s = 0; s < 8; ++s) {
    prefetch_part(panel, b, s, 8);
    // Lane r: (scale of elements 0..15, of 16..31) as int16, each doubled; Q2_K's mins beside them.
    __m256i scales[NH], scale_lo[NH], scale_hi[NH], mins[NH], low[NH][2], high[NH];
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const int row0 = kHalfRows * (h0 + h);
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scales[s][row0]));
      if constexpr (kMins) {
        const __m256i wide = _mm256_cvtepu8_epi16(raw);
        scales[h] = _mm256_and_si256(wide, _mm256_set1_epi16(0xF));
        mins[h] = _mm256_srli_epi16(wide, 4);
      } else {
        scales[h] = _mm256_cvtepi8_epi16(raw);
        high[h] = load32(p.high[s] + 4 * row0);
      }
      scale_lo[h] = pair_first_doubled(scales[h]);
      scale_hi[h] = pair_second_doubled(scales[h]);
      low[h][0] = load32(p.low[s][0] + 4 * row0);
      low[h][1] = load32(p.low[s][1] + 4 * row0);
    }
    __m256i sum[MR][NH][2];  // elements 0..15 and 16..31, in 16 bits
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) sum[t][h][0] = sum[t][h][1] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      __m256i w[NH];  // elements 4g .. 4g + 3 of the group
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        w[h] = _mm256_and_si256(_mm256_srli_epi16(low[h][g / 4], 2 * (g % 4)), three);
        if constexpr (!kMins) {
          // Bit g of high moved to bit 2 (16-bit shifts: what crosses a byte is masked off).
          const __m256i moved = g < 2 ? _mm256_slli_epi16(high[h], 2 - g) : _mm256_srli_epi16(high[h], g - 2);
          w[h] = _mm256_or_si256(w[h], _mm256_and_si256(moved, bit2));
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m256i x = bcast4(x_qs(xb[t]) + 32 * s + 4 * g);
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) sum[t][h][g / 4] = _mm256_add_epi16(sum[t][h][g / 4], _mm256_maddubs_epi16(w[h], x));
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m256i bsums = bcast4(x_bsums(xb[t]) + 4 * s);
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        const __m256i dots = _mm256_add_epi32(_mm256_madd_epi16(sum[t][h][0], scale_lo[h]),
                                              _mm256_madd_epi16(sum[t][h][1], scale_hi[h]));
        isum[t][h] = _mm256_add_epi32(isum[t][h], dots);
        if constexpr (kMins) {
          msum[t][h] = _mm256_add_epi32(msum[t][h], _mm256_madd_epi16(mins[h], bsums));
        } else {  // the values are stored + 4: subtract 4 * (scale_lo * bsums[2s] + scale_hi * bsums[2s + 1])
          isum[t][h] = _mm256_sub_epi32(isum[t][h], _mm256_slli_epi32(_mm256_madd_epi16(scales[h], bsums), 2));
        }
      }
    }
  }
  if constexpr (kMins) {
    accumulate_super_block<MR, NH, true>(p.d, p.dmin, h0, xb, isum, msum, acc);
  } else {
    accumulate_super_block<MR, NH, false>(p.d, nullptr, h0, xb, isum, nullptr, acc);
  }
}

// ---- IQ4_XS -------------------------------------------------------------------

template <int MR, int NH>
__attribute__((always_inline)) inline void block_iq4_xs(const PanelBlockIQ4_XS* panel, int64_t b, int h0,
                                                        const uint8_t* const* xb, __m256 (*acc)[NH]) {
  const PanelBlockIQ4_XS& p = panel[b];
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256i isum[MR][NH];
  zero_sums<MR, NH>(isum);
#pragma GCC unroll 1
  for (int j = 0; j < 8; ++j) {
    prefetch_part(panel, b, j, 8);
    __m256i scale[NH];  // (scale, scale) as int16 per lane
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      scale[h] = pair_first_doubled(
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p.scales[j] + kHalfRows * (h0 + h)))));
    }
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      __m256i lo[NH], hi[NH];  // elements 4g + i and 16 + 4g + i, signed
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        const __m256i packed = load32(p.q[j][g] + 4 * kHalfRows * (h0 + h));
        lo[h] = _mm256_shuffle_epi8(table, _mm256_and_si256(packed, nibble));
        hi[h] = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble));
      }
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const uint8_t* xq = x_qs(xb[t]) + 32 * j;
        const __m256i x_lo = bcast4(xq + 4 * g), x_hi = bcast4(xq + 16 + 4 * g);
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i p_lo = _mm256_maddubs_epi16(_mm256_sign_epi8(lo[h], lo[h]), _mm256_sign_epi8(x_lo, lo[h]));
          const __m256i p_hi = _mm256_maddubs_epi16(_mm256_sign_epi8(hi[h], hi[h]), _mm256_sign_epi8(x_hi, hi[h]));
          isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_add_epi32(_mm256_madd_epi16(p_lo, scale[h]),
                                                                     _mm256_madd_epi16(p_hi, scale[h])));
        }
      }
    }
  }
  accumulate_super_block<MR, NH, false>(p.d, nullptr, h0, xb, isum, nullptr, acc);
}

// ---- Unpacking for prefill (k_unpacked_avx2.h) ------------------------------------

// Half h of a Q2_K or Q3_K super-block: values 0..3 or 0..7 (Q3_K: the stored
// value + 4), the scale pairs of each 16-element segment, and as the
// correction Q2_K's (min_lo, min_hi) pairs or Q3_K's (scale_lo, scale_hi).
template <class Panel>
void unpack_q23_k(const Panel& p, int h, UnpackedHalf* u) {
  constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ2_K>;
  const __m256i three = _mm256_set1_epi8(3), bit2 = _mm256_set1_epi8(4);
  const int row0 = kHalfRows * h;
  for (int s = 0; s < 8; ++s) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scales[s][row0]));
    __m256i scales, corr;
    if constexpr (kMins) {
      const __m256i wide = _mm256_cvtepu8_epi16(raw);
      scales = _mm256_and_si256(wide, _mm256_set1_epi16(0xF));
      corr = _mm256_srli_epi16(wide, 4);
    } else {
      scales = corr = _mm256_cvtepi8_epi16(raw);
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(u->scale[s][0]), pair_first_doubled(scales));
    _mm256_store_si256(reinterpret_cast<__m256i*>(u->scale[s][1]), pair_second_doubled(scales));
    _mm256_store_si256(reinterpret_cast<__m256i*>(u->corr[s]), corr);
    const __m256i low[2] = {load32(p.low[s][0] + 4 * row0), load32(p.low[s][1] + 4 * row0)};
    for (int g = 0; g < 8; ++g) {
      __m256i w = _mm256_and_si256(_mm256_srl_epi16(low[g / 4], _mm_cvtsi32_si128(2 * (g % 4))), three);
      if constexpr (!kMins) {
        // Bit g of high moved to bit 2 (16-bit shifts: what crosses a byte is masked off).
        const __m256i high = load32(p.high[s] + 4 * row0);
        const __m256i moved = g < 2 ? _mm256_sll_epi16(high, _mm_cvtsi32_si128(2 - g))
                                    : _mm256_srl_epi16(high, _mm_cvtsi32_si128(g - 2));
        w = _mm256_or_si256(w, _mm256_and_si256(moved, bit2));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(u->w[s][g]), w);
    }
  }
}

// ---- The formats (k_panel_avx2.h, k_unpacked_avx2.h) ---------------------------------

template <class PanelBlock>
struct Q23KFormat {
  using Panel = PanelBlock;
  static constexpr int kMR = 4;  // 3 (all sums in registers) measured 1.5x slower at T = 512: decoding amortizes worse
  static constexpr int kUnpackedMR = 4;
  static constexpr int kChain = 4;  // a 16-element segment: <= 4 * 2 * 7 * 127 = 7112
  static constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ2_K>;
  static constexpr bool kMinsPer32 = false;
  static constexpr int kOffsetShift = 2;  // Q3_K: the values are stored + 4
  template <int MR, int NH>
  static void block(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb, __m256 (*acc)[NH]) {
    block_q23_k<MR, NH, Panel>(panel, b, h0, xb, acc);
  }
  static void unpack(const Panel& p, int h, UnpackedHalf* u) { unpack_q23_k(p, h, u); }
  static const uint16_t* dmin_of(const Panel& p) {
    if constexpr (kMins) {
      return p.dmin;
    } else {
      return nullptr;
    }
  }
};

struct IQ4XSFormat {
  using Panel = PanelBlockIQ4_XS;
  static constexpr int kMR = 4;
  template <int MR, int NH>
  static void block(const Panel* panel, int64_t b, int h0, const uint8_t* const* xb, __m256 (*acc)[NH]) {
    block_iq4_xs<MR, NH>(panel, b, h0, xb, acc);
  }
};

}  // namespace

MatmulKernel avx2_low_bit_k_panel_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K: return gemm_k_panel<Q23KFormat<PanelBlockQ2_K>>;
    case GgmlType::Q3_K: return gemm_k_panel<Q23KFormat<PanelBlockQ3_K>>;
    case GgmlType::IQ4_XS: return gemm_prepacked<IQ4XSFormat>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

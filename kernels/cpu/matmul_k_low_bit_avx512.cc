// AVX-512 VNNI kernels for Q2_K, Q3_K and IQ4_XS weights, prepacked at load
// (packed_weight.h), against ActBlockQ8K activations. The panel walk and the
// float order are those of matmul_k_avx512.cc (k_panel_avx512.h): 16 weight
// rows per register, one row per 32-bit lane; per super-block all integer
// work is exact and the float part is, for y[t, r] and every path:
//   acc = fma(d_w * d_x, float(isum), acc)      (Q2_K also: acc = fma(-(dmin_w * d_x), float(msum), acc))
//
// Q2_K / Q3_K panel (PanelBlockQ2_K, PanelBlockQ3_K): per 32-element group s,
// the low 2 bits as 2 registers: byte i of lane r of low[s][h] holds, in bit
// pair k, element 4 (4 h + k) + i of row r's group; Q3_K adds one register of
// third bits (bit g of byte i: element 4 g + i). Unpacked, register g (0..7)
// holds elements 4 g .. 4 g + 3 as unsigned bytes, Q3_K's value + 4 (0..7).
// A group is two 16-element sub-blocks with their own scales: two VPDPBUSD
// chains of 4 whose sums fit int16 (|16 * 7 * 127| < 2^15), merged into
// (lo, hi) int16 pairs and multiplied by the (scale_lo, scale_hi) pairs in
// one VPDPWSSD. Q3_K's -4 offset and Q2_K's mins meet the token's 16-element
// sums through VPDPWSSD as well. Same bytes as the blocks they replace (Q2_K)
// or 6% more (Q3_K: 1856 vs 1760 per 16 rows).
//
// IQ4_XS panel (PanelBlockIQ4_XS): Q4_K's nibble layout (which is IQ4_XS's
// own byte order: the bytes are copied), 8 signed scales and d per row. A
// nibble becomes kIq4nlValues + 128 (1..241, unsigned) with one VPSHUFB; the
// 128 * sum(x) this adds leaves through one VPDPWSSD of (-128 * scale) pairs
// against the token's sums. 2240 bytes vs 2176 per 16 rows.
#if defined(__GNUC__) && !defined(__clang__)  // see matmul_q_avx512.cc
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/k_panel_avx512.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

static_assert(kPanel == kKPanelRows, "the panel layout of k_panel.h is one panel per ZMM register");

// Group s of a Q2_K / Q3_K panel block as 8 registers of unsigned bytes (see the top).
template <class Panel>
__attribute__((always_inline)) inline void unpack_group(const Panel& p, int s, __m512i w[8]) {
  const __m512i three = _mm512_set1_epi8(3);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m512i low = _mm512_loadu_si512(p.low[s][h]);
    w[4 * h] = _mm512_and_si512(low, three);
    w[4 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(low, 2), three);
    w[4 * h + 2] = _mm512_and_si512(_mm512_srli_epi16(low, 4), three);
    w[4 * h + 3] = _mm512_and_si512(_mm512_srli_epi16(low, 6), three);
  }
  if constexpr (std::is_same_v<Panel, PanelBlockQ3_K>) {
    const __m512i high = _mm512_loadu_si512(p.high[s]), bit2 = _mm512_set1_epi8(4);
    // Bit g moved to bit 2 (16-bit shifts: what crosses a byte is masked off), ORed in.
    w[0] = _mm512_ternarylogic_epi32(w[0], _mm512_slli_epi16(high, 2), bit2, 0xF8);
    w[1] = _mm512_ternarylogic_epi32(w[1], _mm512_slli_epi16(high, 1), bit2, 0xF8);
    w[2] = _mm512_ternarylogic_epi32(w[2], high, bit2, 0xF8);
#pragma GCC unroll 5
    for (int g = 3; g < 8; ++g) w[g] = _mm512_ternarylogic_epi32(w[g], _mm512_srli_epi16(high, g - 2), bit2, 0xF8);
  }
}

// The 16-element dot products of one token with w[0..3] (elements 0..15) and
// w[4..7] (16..31) as an (lo, hi) int16 pair per lane; both fit int16.
__attribute__((always_inline)) inline __m512i pair_dots(const __m512i w[8], const uint8_t* x_row, size_t x_off, int s) {
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    lo = _mm512_dpbusd_epi32(lo, w[g], x_group(x_row, x_off, 32 * s + 4 * g));
    hi = _mm512_dpbusd_epi32(hi, w[g + 4], x_group(x_row, x_off, 32 * s + 16 + 4 * g));
  }
  // (lo & 0xFFFF) | (hi << 16)
  return _mm512_ternarylogic_epi32(lo, _mm512_slli_epi32(hi, 16), _mm512_set1_epi32(0xFFFF), 0xEC);
}

template <int MR, class Panel>
__attribute__((always_inline)) inline void tile_q23_k(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0,
                                                      int64_t r0, __mmask16 live) {
  constexpr bool kMins = std::is_same_v<Panel, PanelBlockQ2_K>;
  __m512 acc[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  constexpr size_t kLinesPerGroup = (sizeof(Panel) / 64 + 7) / 8;
  for (int64_t b = 0; b < nb; ++b) {
    const Panel& p = panel[b];
    const size_t x_off = static_cast<size_t>(b) * sizeof(ActBlockQ8K);
    __m512i isum[MR], msum[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) isum[t] = msum[t] = _mm512_setzero_si512();
#pragma GCC unroll 1
    for (int s = 0; s < 8; ++s) {
      prefetch_ahead(panel, b, s * kLinesPerGroup, kLinesPerGroup);
      __m512i w[8];
      unpack_group(p, s, w);
      // Lane r: (scale_lo, scale_hi) of row r's group as int16; Q2_K's mins beside them.
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.scales[s]));
      __m512i scale_pair, offset_pair;
      if constexpr (kMins) {
        const __m512i wide = _mm512_cvtepu8_epi16(raw);
        scale_pair = _mm512_and_si512(wide, _mm512_set1_epi16(0xF));
        offset_pair = _mm512_srli_epi16(wide, 4);  // the mins
      } else {
        scale_pair = _mm512_cvtepi8_epi16(raw);
        offset_pair = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(scale_pair, 2));  // -4 * scale
      }
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m512i dots = pair_dots(w, x_rows[t], x_off, s);
        isum[t] = _mm512_dpwssd_epi32(isum[t], dots, scale_pair);
        if constexpr (kMins) {
          msum[t] = _mm512_dpwssd_epi32(msum[t], offset_pair, x_bsum_pair(x_rows[t], x_off, s));
        } else {
          isum[t] = _mm512_dpwssd_epi32(isum[t], offset_pair, x_bsum_pair(x_rows[t], x_off, s));
        }
      }
    }
    const __m512 d = load_fp16x16(p.d);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m512 dx = x_scale(x_rows[t], x_off);
      acc[t] = k_accumulate(acc[t], d, dx, isum[t]);
      if constexpr (kMins) acc[t] = k_subtract_mins(acc[t], load_fp16x16(p.dmin), dx, msum[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, acc[t]);
}

template <int MR>
__attribute__((always_inline)) inline void tile_iq4_xs(const MatmulArgs& a, const PanelBlockIQ4_XS* panel, int64_t nb,
                                                       int64_t t0, int64_t r0, __mmask16 live) {
  __m512 acc[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  const __m512i table = _mm512_load_si512(kIq4Unsigned.bytes);
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  constexpr size_t kLinesPerSubBlock = (sizeof(PanelBlockIQ4_XS) / 64 + 7) / 8;
  for (int64_t b = 0; b < nb; ++b) {
    const PanelBlockIQ4_XS& p = panel[b];
    const size_t x_off = static_cast<size_t>(b) * sizeof(ActBlockQ8K);
    __m512i isum[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 1
    for (int j = 0; j < 8; ++j) {
      prefetch_ahead(panel, b, j * kLinesPerSubBlock, kLinesPerSubBlock);
      __m512i w[8];
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        const __m512i packed = _mm512_loadu_si512(p.q[j][g]);
        w[g] = _mm512_shuffle_epi8(table, _mm512_and_si512(packed, nibble));
        w[g + 4] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble));
      }
      const __m512i scale = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p.scales[j])));
      // (-128 * scale, -128 * scale) as int16 (|-128 * scale| <= 4096).
      const __m512i offset16 = _mm512_slli_epi32(_mm512_mullo_epi32(scale, _mm512_set1_epi32(-128)), 16);
      const __m512i offset = _mm512_or_si512(offset16, _mm512_srli_epi32(offset16, 16));
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
          lo = _mm512_dpbusd_epi32(lo, w[g], x_group(x_rows[t], x_off, 32 * j + 4 * g));
          hi = _mm512_dpbusd_epi32(hi, w[g + 4], x_group(x_rows[t], x_off, 32 * j + 16 + 4 * g));
        }
        const __m512i sum = _mm512_dpwssd_epi32(isum[t], offset, x_bsum_pair(x_rows[t], x_off, j));
        isum[t] = _mm512_add_epi32(sum, _mm512_mullo_epi32(_mm512_add_epi32(lo, hi), scale));
      }
    }
    const __m512 d = load_fp16x16(p.d);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) acc[t] = k_accumulate(acc[t], d, x_scale(x_rows[t], x_off), isum[t]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, acc[t]);
}

template <class PanelBlock>
struct Q23KFormat {
  static constexpr int64_t kBlockElems = kQK_K;
  using Panel = PanelBlock;
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    tile_q23_k<MR, Panel>(a, panel, nb, t0, r0, live);
  }
};
using Q2KFormat = Q23KFormat<PanelBlockQ2_K>;
using Q3KFormat = Q23KFormat<PanelBlockQ3_K>;

struct IQ4XSFormat {
  static constexpr int64_t kBlockElems = kQK_K;
  using Panel = PanelBlockIQ4_XS;
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    tile_iq4_xs<MR>(a, panel, nb, t0, r0, live);
  }
};

}  // namespace

MatmulKernel avx512_low_bit_k_prepacked_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K: return gemm_prepacked<Q2KFormat>;
    case GgmlType::Q3_K: return gemm_prepacked<Q3KFormat>;
    case GgmlType::IQ4_XS: return gemm_prepacked<IQ4XSFormat>;
    default: return avx512_q5_prepacked_kernel(type);
  }
}

// Q2_K, Q3_K and IQ4_XS are packed by the portable packer of k_panel.h
// (avx512_k_packed_bytes / avx512_k_pack_rows take them there).
size_t avx512_low_bit_k_packed_bytes(GgmlType type, int64_t rows, int64_t cols) {
  return avx512_q5_packed_bytes(type, rows, cols);
}

void avx512_low_bit_k_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                                int64_t r_begin, int64_t r_end, uint8_t* out) {
  avx512_q5_pack_rows(type, w, w_row_bytes, rows, cols, r_begin, r_end, out);
}

}  // namespace nucleus::kernels::cpu

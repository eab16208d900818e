// AVX-512 VNNI kernels for Q4_K, Q5_K and Q6_K weights, prepacked at load
// (packed_weight.h), against ActBlockQ8K activations.
//
// Layout (k_panel.h, packed by its portable packer, which the AVX2 path's
// kernels read too): as matmul_q_avx512.cc, a panel is 16 weight rows, one row per 32-bit
// lane. Each 256-element super-block of a panel is repacked once into a
// PanelBlockQ4_K: per 32-element sub-block j, 4 registers whose lane r holds 4
// bytes of row r, byte i of register g carrying element 4g + i in its low
// nibble and element 16 + 4g + i in its high nibble (the Q4_0 order, so one
// AND and one shift-AND give 8 registers of unsigned bytes); then the 6-bit
// scales and mins as bytes, and the fp16 d and dmin, 16 rows each. The same
// bytes as the 16 blocks it replaces plus 64 (2368 vs 2304), so decode reads
// no more memory.
//
// Per super-block, all integer and exact: a sub-block's dot product with a
// token is 8 VPDPBUSD (4-byte groups of the token broadcast), times the
// sub-block scale (VPMULLD), summed over the 8 sub-blocks; the mins meet the
// token's 32-element sums through 4 VPDPWSSD (pairs (min_2k, min_2k+1) against
// (sums32[2k], sums32[2k + 1]); 4 in place of 8 per token and super-block took
// Q4_K from 322 to 333 GFLOP/s at T = 512 on Zen 4, 1 thread, and Q5_K from 280
// to 300). Float order of y[t, r], the same for every tile, panel position, T
// and thread count (batch invariance, ops.h):
//   acc = 0; for b in order: acc = fma(d_w * d_x, float(isum), acc); acc = fnma(dmin_w * d_x, float(msum), acc)
//
// Q6_K (PanelBlockQ6_K) keeps the same 32-element groups: the low 4 bits as
// Q4_K's nibbles, the high 2 bits of two groups in one more register set, the
// 16 int8 scales as (scale of elements 0..15, of 16..31) pairs per group. A
// group is two 16-element dot products times their scales, one half after the
// other (4 weight registers live, not 8: with 8 the tile of 8 tokens spilled;
// 268 -> 280 GFLOP/s at T = 512 on Zen 4, 1 thread, best of 6 interleaved);
// the -32 offset is one VPDPWSSD of (-32 * scale) pairs against the token's
// 16-element sums. acc = 0; for b in order: acc = fma(d_w * d_x, float(isum), acc).
// Q5_K (PanelBlockQ5_K) is Q4_K's panel plus one register of fifth bits per
// sub-block, merged into the nibbles with one shift, AND and ternary-logic op.
// The AVX2 kernels (k_quant_avx2.h as stored, matmul_k_panel_avx2.cc prepacked)
// and the scalar reference (matmul_scalar.cc)
// do the same float operations in the same order: all paths agree bitwise.
#if defined(__GNUC__) && !defined(__clang__)  // see matmul_q_avx512.cc
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/k_panel_avx512.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

static_assert(kPanel == kKPanelRows, "the panel layout of k_panel.h is one panel per ZMM register");

// (l & 0x0F) | high, bytewise; high holds bits 4..5 at most.
inline __m512i low_nibble_or(__m512i l, __m512i high) {
  return _mm512_ternarylogic_epi32(l, high, _mm512_set1_epi8(0x0F), 0xEC);
}

// Tokens [t0, t0 + MR) against one Q4_K or Q5_K panel; writes the lanes in `live`.
template <int MR, class Panel>
__attribute__((always_inline)) inline void tile_q45_k(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0,
                                                      int64_t r0, __mmask16 live) {
  constexpr bool kFifthBit = std::is_same_v<Panel, PanelBlockQ5_K>;
  __m512 acc[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const Panel& p = panel[b];
    // Block b + kPrefetchBlocks is fetched a few lines per sub-block: Q5_K's 45
    // lines at once stalled decode as Q6_K's did (prefetches never fault, so
    // running past the weight's end is harmless).
    const char* ahead = reinterpret_cast<const char*>(panel + b + kPrefetchBlocks);
    constexpr size_t kLinesPerSubBlock = (sizeof(Panel) / 64 + 7) / 8;
    const size_t x_off = static_cast<size_t>(b) * sizeof(ActBlockQ8K);
    __m512i isum[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 1
    for (int j = 0; j < 8; ++j) {
#pragma GCC unroll 8
      for (size_t line = 0; line < kLinesPerSubBlock; ++line) {
        _mm_prefetch(ahead + 64 * (j * kLinesPerSubBlock + line), _MM_HINT_T0);
      }
      __m512i w[8];
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        const __m512i packed = _mm512_loadu_si512(p.q[j][g]);
        if constexpr (kFifthBit) {
          // Bits g and 4 + g of qh moved to bit 4 (16-bit shifts: what crosses a byte is masked off).
          const __m512i qh = _mm512_loadu_si512(p.qh[j]), bit4 = _mm512_set1_epi8(0x10);
          w[g] = low_nibble_or(packed, _mm512_and_si512(_mm512_slli_epi16(qh, 4 - g), bit4));
          w[g + 4] = low_nibble_or(_mm512_srli_epi16(packed, 4), _mm512_and_si512(_mm512_srli_epi16(qh, g), bit4));
        } else {
          w[g] = _mm512_and_si512(packed, nibble);
          w[g + 4] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
        }
      }
      const __m512i scale = load_u8x16_as_i32(p.scales[j]);
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const uint8_t* xq = x_rows[t] + x_off + offsetof(ActBlockQ8K, qs) + 32 * j;
        // Two chains of 4 (elements 0..15, 16..31) halve the latency; integer sums are exact.
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
          lo = _mm512_dpbusd_epi32(lo, w[g], _mm512_set1_epi32(load_i32(xq + 4 * g)));
          hi = _mm512_dpbusd_epi32(hi, w[g + 4], _mm512_set1_epi32(load_i32(xq + 16 + 4 * g)));
        }
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(_mm512_add_epi32(lo, hi), scale));
      }
    }
    __m512i mins[4];  // lane r: (min_2k, min_2k+1) as two int16
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      mins[k] = _mm512_or_si512(load_u8x16_as_i32(p.mins[2 * k]),
                                _mm512_slli_epi32(load_u8x16_as_i32(p.mins[2 * k + 1]), 16));
    }
    const __m512 d = load_fp16x16(p.d), dmin = load_fp16x16(p.dmin);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const uint8_t* xb = x_rows[t] + x_off;
      // Against the token's 32-element sums two at a time: the same exact integer as
      // eight (min_j, min_j) pairs against its 16-element sums, in half the instructions.
      __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const __m512i sums = _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8K, sums32) + 4 * k));
        msum = _mm512_dpwssd_epi32(msum, mins[k], sums);
      }
      const __m512 dx = _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8K, d)));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[t]), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(msum), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, acc[t]);
}

// Bits 4..5 of every byte from h (already shifted there) over the low nibble of l.
inline __m512i six_bits(__m512i l, __m512i h_shifted) {
  return low_nibble_or(l, _mm512_and_si512(h_shifted, _mm512_set1_epi8(0x30)));
}

// Group s = 2 k + E of a Q6_K panel block against MR tokens, into isum: one
// 16-element half at a time, so 4 weight registers are live, not 8.
template <int MR, int E>
__attribute__((always_inline)) inline void q6_k_group(const PanelBlockQ6_K& p, int k, const uint8_t* const* x_rows,
                                                      size_t x_off, __m512i* isum) {
  constexpr int s_in_pair = E;
  const int s = 2 * k + s_in_pair;
  const __m512i pair = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.scales[s])));
  // -32 * scale fits int16 (|scale| <= 128).
  const __m512i offset = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(pair, 5));
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    isum[t] = _mm512_dpwssd_epi32(isum[t], offset, x_bsum_pair(x_rows[t], x_off, s));
  }
#pragma GCC unroll 2
  for (int half = 0; half < 2; ++half) {
    __m512i w[4];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const __m512i l = _mm512_loadu_si512(p.ql[s][g]);
      const __m512i h = _mm512_loadu_si512(p.qh[k][g]);
      // This group's bits: 0..1 and 2..3 (E = 0) or 4..5 and 6..7 (E = 1), moved to 4..5.
      if (half == 0) {
        w[g] = six_bits(l, E == 0 ? _mm512_slli_epi16(h, 4) : h);
      } else {
        w[g] = six_bits(_mm512_srli_epi16(l, 4), E == 0 ? _mm512_slli_epi16(h, 2) : _mm512_srli_epi16(h, 2));
      }
    }
    const __m512i scale = half == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16) : _mm512_srai_epi32(pair, 16);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const uint8_t* xq = x_rows[t] + x_off + offsetof(ActBlockQ8K, qs) + 32 * s + 16 * half;
      __m512i sum = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) sum = _mm512_dpbusd_epi32(sum, w[g], _mm512_set1_epi32(load_i32(xq + 4 * g)));
      isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sum, scale));
    }
  }
}

template <int MR>
__attribute__((always_inline)) inline void tile_q6_k(const MatmulArgs& a, const PanelBlockQ6_K* panel, int64_t nb,
                                                     int64_t t0, int64_t r0, __mmask16 live) {
  __m512 acc[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const PanelBlockQ6_K& p = panel[b];
    // Block b + kPrefetchBlocks is fetched a quarter per group pair: 53 lines
    // at once overflowed the core's miss buffers and stalled decode. Into L2
    // (T1), not L1: fetched into L1 this kernel read DRAM-sized weights at
    // 13-15 GB/s on one thread, into L2 at 28 (kernels_bench,
    // Q6_K_32768x2048; the Q4_K/Q5_K kernels above are faster with T0).
    const char* ahead = reinterpret_cast<const char*>(panel + b + kPrefetchBlocks);
    constexpr size_t kLinesPerPair = (sizeof(PanelBlockQ6_K) / 64 + 3) / 4;
    const size_t x_off = static_cast<size_t>(b) * sizeof(ActBlockQ8K);
    __m512i isum[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 1
    for (int k = 0; k < 4; ++k) {
#pragma GCC unroll 16
      for (size_t line = 0; line < kLinesPerPair; ++line) {  // prefetches never fault: running past the end is harmless
        _mm_prefetch(ahead + 64 * (k * kLinesPerPair + line), _MM_HINT_T1);
      }
      q6_k_group<MR, 0>(p, k, x_rows, x_off, isum);
      q6_k_group<MR, 1>(p, k, x_rows, x_off, isum);
    }
    const __m512 d = load_fp16x16(p.d);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const __m512 dx = _mm512_set1_ps(load_f32(x_rows[t] + x_off + offsetof(ActBlockQ8K, d)));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[t]), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, acc[t]);
}

// One k-quant format: its panel block and tile.
template <class Block, class PanelBlock>
struct Q45KFormat {
  static constexpr int64_t kBlockElems = kQK_K;
  using Panel = PanelBlock;
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    tile_q45_k<MR, Panel>(a, panel, nb, t0, r0, live);
  }
};
using Q4KFormat = Q45KFormat<BlockQ4_K, PanelBlockQ4_K>;
using Q5KFormat = Q45KFormat<BlockQ5_K, PanelBlockQ5_K>;

struct Q6KFormat {
  static constexpr int64_t kBlockElems = kQK_K;
  using Panel = PanelBlockQ6_K;
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    tile_q6_k<MR>(a, panel, nb, t0, r0, live);
  }
};

}  // namespace

MatmulKernel avx512_k_prepacked_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_K: return gemm_prepacked<Q4KFormat>;
    case GgmlType::Q5_K: return gemm_prepacked<Q5KFormat>;
    case GgmlType::Q6_K: return gemm_prepacked<Q6KFormat>;
    default: return avx512_low_bit_k_prepacked_kernel(type);
  }
}

// The k-quant panels are packed by the portable packer of k_panel.h (the AVX2 path's too).
size_t avx512_k_packed_bytes(GgmlType type, int64_t rows, int64_t cols) {
  if (has_k_panel_layout(type)) return k_panel_bytes(type, rows, cols);
  return avx512_low_bit_k_packed_bytes(type, rows, cols);
}

void avx512_k_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                        int64_t r_begin, int64_t r_end, uint8_t* out) {
  if (has_k_panel_layout(type)) return k_panel_pack_rows(type, w, w_row_bytes, rows, cols, r_begin, r_end, out);
  avx512_low_bit_k_pack_rows(type, w, w_row_bytes, rows, cols, r_begin, r_end, out);
}

}  // namespace nucleus::kernels::cpu

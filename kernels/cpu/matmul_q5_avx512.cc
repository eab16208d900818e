// AVX-512 VNNI kernels for Q5_0, Q5_1 and IQ4_NL weights (32-element blocks),
// prepacked at load (packed_weight.h), against ActBlockQ8 activations. The
// panel walk is k_panel_avx512.h's; the arithmetic is matmul_q_avx512.cc's
// Q4_0 / Q4_1 tile with one more step to make the weight bytes:
//
// Panel block (q_panel.h: PanelBlockQ5_0 / Q5_1 / IQ4_NL): the 16 rows' nibbles as
// stored (register g, lane r: bytes 4g..4g+3 of row r's qs, element j in the
// low nibble of byte j, element j + 16 in its high nibble), then for Q5 one
// register of fifth bits (byte i of lane r: bit g is element 4g + i's, bit
// 4 + g element 16 + 4g + i's, as matmul_k_avx512.cc's Q5_K), then the fp16
// d (and Q5_1's m) of each row. The same bytes as the 16 blocks it replaces.
// Unsigned weight bytes for VPDPBUSD: Q5_0 and Q5_1 as v (0..31), IQ4_NL as
// kIq4nlValues + 128 (1..241, one VPSHUFB); the offset (Q5_0's -16, IQ4_NL's
// -128) times sum(x) (ActBlockQ8::sum, exact) starts the dot product.
//
// Float order of y[t, r], that of the Q4_0 / Q4_1 kernels (matmul_q_avx512.cc):
//   acc = 0; for b in order: acc = fma(d_w[r,b] * d_x[t,b], float(idot[t,r,b]), acc)
//   Q5_1 also: extra = 0; for b in order: extra = fma(m_w[r,b], s_x[t,b], extra); y = acc + extra
#if defined(__GNUC__) && !defined(__clang__)  // see matmul_q_avx512.cc
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <type_traits>

#include "kernels/cpu/k_panel_avx512.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"

namespace nucleus::kernels::cpu {
namespace {

constexpr int64_t kPrefetchSmallBlocks = 16;  // 32-element panel blocks fetched ahead, as the Q4 kernels do

// The panel blocks (PanelBlockQ5_0, PanelBlockQ5_1, PanelBlockIQ4_NL) and
// their portable packer are q_panel.h's.
static_assert(sizeof(PanelBlockQ5_0) == 16 * sizeof(BlockQ5_0));
static_assert(sizeof(PanelBlockQ5_1) == 16 * sizeof(BlockQ5_1));
static_assert(sizeof(PanelBlockIQ4_NL) == 16 * sizeof(BlockIQ4_NL));
static_assert(kPanel == kQPanelRows);

// (l & 0x0F) | high, bytewise.
inline __m512i low_nibble_or(__m512i l, __m512i high) {
  return _mm512_ternarylogic_epi32(l, high, _mm512_set1_epi8(0x0F), 0xEC);
}

// One panel block's 8 registers of unsigned weight bytes (register g: elements 4g..4g+3, g + 4: 16 + 4g..).
template <class Panel>
__attribute__((always_inline)) inline void unpack(const Panel& p, __m512i w[8]) {
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  if constexpr (std::is_same_v<Panel, PanelBlockIQ4_NL>) {
    const __m512i table = _mm512_load_si512(kIq4Unsigned.bytes);
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const __m512i packed = _mm512_loadu_si512(p.q[g]);
      w[g] = _mm512_shuffle_epi8(table, _mm512_and_si512(packed, nibble));
      w[g + 4] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble));
    }
  } else {
    const __m512i qh = _mm512_loadu_si512(p.qh), bit4 = _mm512_set1_epi8(0x10);
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      const __m512i packed = _mm512_loadu_si512(p.q[g]);
      // Bits g and 4 + g of qh moved to bit 4 (16-bit shifts: what crosses a byte is masked off).
      w[g] = low_nibble_or(packed, _mm512_and_si512(_mm512_slli_epi16(qh, 4 - g), bit4));
      w[g + 4] = low_nibble_or(_mm512_srli_epi16(packed, 4), _mm512_and_si512(_mm512_srli_epi16(qh, g), bit4));
    }
  }
}

// What the unsigned weight bytes exceed the values by (subtracted as offset * sum(x)).
template <class Panel>
constexpr int kOffset = std::is_same_v<Panel, PanelBlockIQ4_NL> ? 128 : std::is_same_v<Panel, PanelBlockQ5_0> ? 16 : 0;

template <int MR, class Panel>
__attribute__((always_inline)) inline void tile_q5(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0,
                                                   int64_t r0, __mmask16 live) {
  constexpr bool kHasMin = std::is_same_v<Panel, PanelBlockQ5_1>;
  __m512 acc[MR], extra[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = extra[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Panel& p = panel[b];
    {  // prefetches never fault, so running past the weight's end is harmless
      const char* ahead = reinterpret_cast<const char*>(panel + b + kPrefetchSmallBlocks);
#pragma GCC unroll 8
      for (size_t line = 0; line < sizeof(Panel); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    }
    __m512i w[8];
    unpack(p, w);
    const __m512 d = load_fp16x16(p.d);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const uint8_t* xb = x_rows[t] + b * sizeof(ActBlockQ8);
      __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
      if constexpr (kOffset<Panel> != 0) lo = _mm512_set1_epi32(-kOffset<Panel> * load_i32(xb + offsetof(ActBlockQ8, sum)));
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        lo = _mm512_dpbusd_epi32(lo, w[g], _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 4 * g)));
        hi = _mm512_dpbusd_epi32(hi, w[g + 4], _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 16 + 4 * g)));
      }
      const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, d))));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi)), acc[t]);
      if constexpr (kHasMin) {
        extra[t] = _mm512_fmadd_ps(load_fp16x16(p.m), _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, s))), extra[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    const __m512 y = kHasMin ? _mm512_add_ps(acc[t], extra[t]) : acc[t];
    _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, y);
  }
}

template <class PanelBlock, GgmlType kType>
struct SmallBlockFormat {
  static constexpr int64_t kBlockElems = kQK;
  using Panel = PanelBlock;
  static void pack(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, Panel* out) {
    q_panel_pack_panel(kType, w, w_row_bytes, r0, n, nb, reinterpret_cast<uint8_t*>(out));
  }
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    tile_q5<MR, Panel>(a, panel, nb, t0, r0, live);
  }
};
using Q5_0Format = SmallBlockFormat<PanelBlockQ5_0, GgmlType::Q5_0>;
using Q5_1Format = SmallBlockFormat<PanelBlockQ5_1, GgmlType::Q5_1>;
using IQ4_NLFormat = SmallBlockFormat<PanelBlockIQ4_NL, GgmlType::IQ4_NL>;

}  // namespace

MatmulKernel avx512_q5_prepacked_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q5_0: return gemm_prepacked<Q5_0Format>;
    case GgmlType::Q5_1: return gemm_prepacked<Q5_1Format>;
    case GgmlType::IQ4_NL: return gemm_prepacked<IQ4_NLFormat>;
    default: return nullptr;
  }
}

size_t avx512_q5_packed_bytes(GgmlType type, int64_t rows, int64_t cols) {
  switch (type) {
    case GgmlType::Q5_0: return packed_bytes<Q5_0Format>(rows, cols);
    case GgmlType::Q5_1: return packed_bytes<Q5_1Format>(rows, cols);
    case GgmlType::IQ4_NL: return packed_bytes<IQ4_NLFormat>(rows, cols);
    default: return 0;
  }
}

void avx512_q5_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                         int64_t r_begin, int64_t r_end, uint8_t* out) {
  switch (type) {
    case GgmlType::Q5_0: return pack_rows<Q5_0Format>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case GgmlType::Q5_1: return pack_rows<Q5_1Format>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case GgmlType::IQ4_NL: return pack_rows<IQ4_NLFormat>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    default: return;
  }
}

}  // namespace nucleus::kernels::cpu

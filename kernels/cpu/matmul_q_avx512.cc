// AVX-512 VNNI kernels for Q4_0, Q4_1 and Q8_0 weights against ActBlockQ8
// activations.
//
// Layout: 16 weight rows (a panel) are one ZMM register, one row per 32-bit
// lane. Each 32-element block of the panel is repacked (PanelBlock*): either
// on every call into thread-local scratch, or once at load (avx512_pack_rows,
// kernels/packed_weight.h). After the tile splits the Q4 nibbles, register g
// holds, in lane r, the 4 weight bytes 4g..4g+3 of row r as unsigned bytes.
// A token's block is then 8 VPDPBUSD with its 4-byte groups broadcast:
// lane r ends with the exact integer dot product of row r's block and the
// token's block. The float work per block is one convert, one multiply and
// one FMA per 16 rows.
//
// Float order of y[t, r], the same for every tile, panel position, T and
// thread count (batch invariance, ops.h):
//   acc = 0; for b in order: acc = fma(d_w[r,b] * d_x[t,b], float(idot[t,r,b]), acc)
//   Q4_1 also: extra = 0; for b in order: extra = fma(m_w[r,b], s_x[t,b], extra); y = acc + extra
// idot is exact: Q4_0 weights enter as q in [0, 15] with -8 * sum(x) added;
// Q8_0 weights as w + 128 in [0, 255] with -128 * sum(x) added.
// This is the order of every path (q_panel.h): the AVX2 kernels
// (matmul_q_panel_avx2.cc) and the scalar ones give bitwise these results, and
// prepacked and repacked-per-call weights give bitwise the same results.
// GCC 12's avx512fintrin.h builds _mm512_undefined_*() from a self-initialised
// variable, which -Wmaybe-uninitialized reports in every caller (a false positive).
#if defined(__GNUC__) && !defined(__clang__)  // clang knows no such warning (and errors on the name)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/k_panel_avx512.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

// The panel geometry (kPanel rows per ZMM register, tiles of kMR tokens:
// 8 weight registers, 8 accumulators, Q4_1 8 more for its mins), panel
// groups, token chunks and the token-strip driver are k_panel_avx512.h's.
constexpr int kGroups = kQK / 4;  // 4-byte groups per block
// Panel blocks fetched ahead of the tile. A prepacked weight is one sequential
// stream, but at decode (T of 1..kMR) the hardware prefetcher alone left the
// tile waiting on L3 and the per-token work added to that wait instead of
// hiding in it: measured at batch 1 (2 threads, steps interleaved) 14 vs 17 ms
// per forward with it on a loaded machine, and T = 2..5 no dearer relative to T = 1.
// (The k-quant kernels' kPrefetchBlocks counts 256-element super-blocks.)
// Only addresses are fetched, no result changes; past a panel's end it fetches
// the next panel (prepacked panels are contiguous) or, in repacked scratch, nothing useful.
constexpr int64_t kQPrefetchBlocks = 16;

enum class Format { kQ4_0, kQ4_1, kQ8_0 };

// The panel blocks (PanelBlockQ4_0, ...) are laid out as q_panel.h describes.
template <Format F>
struct FormatTraits;
template <>
struct FormatTraits<Format::kQ4_0> {
  using Block = BlockQ4_0;
  using Panel = PanelBlockQ4_0;
};
template <>
struct FormatTraits<Format::kQ4_1> {
  using Block = BlockQ4_1;
  using Panel = PanelBlockQ4_1;
};
template <>
struct FormatTraits<Format::kQ8_0> {
  using Block = BlockQ8_0;
  using Panel = PanelBlockQ8_0;
};
template <Format F>
using PanelBlock = typename FormatTraits<F>::Panel;

template <Format F>
constexpr size_t qs_offset() {
  return offsetof(typename FormatTraits<F>::Block, qs);
}

// Bytes a row that is not in the panel (a masked lane) reads instead.
alignas(64) constexpr uint8_t kZeroBlock[64] = {};

// 16 rows x 16 bytes -> out[g] lane r = dword g of row r.
inline void transpose_16x4(const uint8_t* const* src, size_t offset, __m512i out[4]) {
  __m512i z[4];
  for (int i = 0; i < 4; ++i) {
    // 128-bit lane k of z[i] holds row i + 4k.
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + offset)));
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i + 4] + offset)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i + 8] + offset)), 2);
    z[i] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i + 12] + offset)), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

inline void store(uint8_t* dst, __m512i v) { _mm512_storeu_si512(dst, v); }

// Repacks blocks [0, nb) of rows [r0, r0 + n) (n <= 16; missing rows are zero).
// When prefetch_end > 0, the rows [r0 + 32, prefetch_end) are fetched into L2 on
// the way: the panel reads 16 rows side by side, 16 short streams that the
// hardware prefetcher follows badly (measured 3-6x slower than one sequential
// stream on a 30 MB matrix), so the panel after next comes as one sequential range.
template <Format F>
void pack_panel(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, int64_t prefetch_end,
                PanelBlock<F>* out) {
  const uint8_t* rows[kPanel];
  for (int r = 0; r < kPanel; ++r) rows[r] = r < n ? w + (r0 + r) * w_row_bytes : kZeroBlock;
  const __mmask16 live = static_cast<__mmask16>((1u << n) - 1u);
  // Byte offset of each row from row r0 (the scales are gathered).
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(w_row_bytes)));
  const uint8_t* base = w + r0 * w_row_bytes;
  const char* pf = reinterpret_cast<const char*>(base + 2 * kPanel * w_row_bytes);
  const char* pf_end = prefetch_end > r0 + 2 * kPanel ? reinterpret_cast<const char*>(w + prefetch_end * w_row_bytes) : pf;
  const int64_t pf_per_block = ((pf_end - pf) / 64 + nb) / nb;
  constexpr size_t kBlockBytes = sizeof(typename FormatTraits<F>::Block);
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t i = 0; i < pf_per_block && pf < pf_end; ++i, pf += 64) _mm_prefetch(pf, _MM_HINT_T1);
    PanelBlock<F>& p = out[b];
    const size_t off = static_cast<size_t>(b) * kBlockBytes;
    const uint8_t* block_rows[kPanel];
    for (int r = 0; r < kPanel; ++r) block_rows[r] = r < n ? rows[r] + off : kZeroBlock;
    __m512i lo[4];
    transpose_16x4(block_rows, qs_offset<F>(), lo);
    if constexpr (F == Format::kQ8_0) {
      __m512i hi[4];
      transpose_16x4(block_rows, qs_offset<F>() + 16, hi);
      const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
      for (int g = 0; g < 4; ++g) {
        store(p.q[g], _mm512_xor_si512(lo[g], flip));
        store(p.q[g + 4], _mm512_xor_si512(hi[g], flip));
      }
    } else {
      for (int g = 0; g < 4; ++g) store(p.q[g], lo[g]);
    }
    // The dword at each block's start: fp16 d, then (Q4_1) fp16 m.
    const __m512i head = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, row_offsets, base + off, 1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.d), _mm512_cvtepi32_epi16(head));
    if constexpr (F == Format::kQ4_1) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.m), _mm512_cvtepi32_epi16(_mm512_srli_epi32(head, 16)));
    }
  }
}

// Tokens [t0, t0 + MR) against one repacked panel; writes the lanes in `live`.
template <Format F, int MR>
__attribute__((always_inline)) inline void q_tile(const MatmulArgs& a, const PanelBlock<F>* panel, int64_t nb,
                                                  int64_t t0, int64_t r0, __mmask16 live) {
  __m512 acc[MR], extra[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    extra[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const PanelBlock<F>& p = panel[b];
    {  // prefetches never fault, so running past the weight's end is harmless
      const char* ahead = reinterpret_cast<const char*>(panel) + (b + kQPrefetchBlocks) * sizeof(PanelBlock<F>);
#pragma GCC unroll 8
      for (size_t line = 0; line < sizeof(PanelBlock<F>); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    }
    __m512i w[kGroups];
    if constexpr (F == Format::kQ8_0) {
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) w[g] = _mm512_loadu_si512(p.q[g]);
    } else {
#pragma GCC unroll 4
      for (int g = 0; g < kGroups / 2; ++g) {
        const __m512i packed = _mm512_loadu_si512(p.q[g]);
        w[g] = _mm512_and_si512(packed, nibble);
        w[g + kGroups / 2] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
      }
    }
    const __m512 d = load_fp16x16(p.d);
    __m512 m;
    if constexpr (F == Format::kQ4_1) m = load_fp16x16(p.m);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const uint8_t* xb = x_rows[t] + b * sizeof(ActBlockQ8);
      // Two chains of 4 VPDPBUSD instead of one of 8 halve the latency a token
      // waits on; integer sums are exact, so the result is the same.
      __m512i dot_lo, dot_hi = _mm512_setzero_si512();
      if constexpr (F == Format::kQ4_1) {
        dot_lo = _mm512_setzero_si512();
      } else {
        constexpr int kOffset = F == Format::kQ4_0 ? 8 : 128;
        dot_lo = _mm512_set1_epi32(-kOffset * load_i32(xb + offsetof(ActBlockQ8, sum)));
      }
#pragma GCC unroll 4
      for (int g = 0; g < kGroups / 2; ++g) {
        dot_lo = _mm512_dpbusd_epi32(dot_lo, w[g], _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 4 * g)));
        dot_hi = _mm512_dpbusd_epi32(dot_hi, w[g + kGroups / 2],
                                     _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 4 * (g + kGroups / 2))));
      }
      const __m512i dot = _mm512_add_epi32(dot_lo, dot_hi);
      const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, d))));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[t]);
      if constexpr (F == Format::kQ4_1) {
        extra[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, s))), extra[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    const __m512 y = F == Format::kQ4_1 ? _mm512_add_ps(acc[t], extra[t]) : acc[t];
    _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, y);
  }
}

// A format as k_panel_avx512.h's token_strip takes it.
template <Format F>
struct QFormat {
  using Panel = PanelBlock<F>;
  template <int MR>
  static void tile(const MatmulArgs& a, const Panel* panel, int64_t nb, int64_t t0, int64_t r0, __mmask16 live) {
    q_tile<F, MR>(a, panel, nb, t0, r0, live);
  }
};

// Rows [r_begin, r_end) (r_begin a multiple of 16) for all tokens, in groups
// of panels that every token chunk reuses while they are hot. panel_of(p, r0,
// n, group_end) returns panel p of the group (rows r0 .. r0 + n).
template <Format F, typename PanelOf>
void gemm_panels(const MatmulArgs& a, int64_t r_begin, int64_t r_end, PanelOf&& panel_of) {
  const int64_t nb = a.cols / kQK;
  // One token tile (decode): one panel at a time.
  const int64_t group_rows = kPanel * (a.T <= kMR ? 1 : kPanelsPerGroup);
  const PanelBlock<F>* panels[kPanelsPerGroup];
  for (int64_t g0 = r_begin; g0 < r_end; g0 += group_rows) {
    const int64_t g1 = std::min(r_end, g0 + group_rows);
    const int64_t count = (g1 - g0 + kPanel - 1) / kPanel;
    for (int64_t p = 0; p < count; ++p) {
      const int64_t r0 = g0 + p * kPanel;
      panels[p] = panel_of(p, r0, static_cast<int>(std::min<int64_t>(kPanel, g1 - r0)));
    }
    for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
      const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
      for (int64_t p = 0; p < count; ++p) {
        const int64_t r0 = g0 + p * kPanel;
        const int n = static_cast<int>(std::min<int64_t>(kPanel, g1 - r0));
        token_strip<QFormat<F>>(a, panels[p], nb, tc, tc_end, r0, static_cast<__mmask16>((1u << n) - 1u));
      }
    }
  }
}

// The scratch holds this file's own element type (internal linkage): a
// std::vector<PanelBlockQ4_0> is an inline template that every file using
// one instantiates, and the linker keeps one copy of it; this file's,
// compiled with AVX-512, was once the copy the AVX2 path called, which
// crashed (SIGILL) on a CPU without AVX-512 in the -O1 sanitizer build.
template <Format F>
struct ScratchBlock {
  PanelBlock<F> block;
};

// Weights as stored: each panel is repacked into thread-local scratch on the way.
template <Format F>
void gemm(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nb = a.cols / kQK;
  thread_local std::vector<ScratchBlock<F>> scratch;
  if (scratch.size() < static_cast<size_t>(nb * kPanelsPerGroup)) scratch.resize(static_cast<size_t>(nb * kPanelsPerGroup));
  static_assert(sizeof(ScratchBlock<F>) == sizeof(PanelBlock<F>));
  PanelBlock<F>* blocks = &scratch.front().block;  // ScratchBlock<F> is exactly a PanelBlock<F>
  gemm_panels<F>(a, r_begin, r_end, [&](int64_t p, int64_t r0, int n) {
    PanelBlock<F>* out = blocks + p * nb;
    pack_panel<F>(a.w, a.w_row_bytes, r0, n, nb, std::min(r_end, r0 + 3 * kPanel), out);
    return static_cast<const PanelBlock<F>*>(out);
  });
}

// Weights repacked at load (avx512_pack_rows): panel k starts at block k * nb.
template <Format F>
void gemm_prepacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nb = a.cols / kQK;
  const auto* packed = reinterpret_cast<const PanelBlock<F>*>(a.w);
  gemm_panels<F>(a, r_begin, r_end, [&](int64_t, int64_t r0, int) { return packed + (r0 / kPanel) * nb; });
}

template <Format F>
void pack_rows(const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols, int64_t r_begin, int64_t r_end,
               uint8_t* out) {
  const int64_t nb = cols / kQK;
  auto* packed = reinterpret_cast<PanelBlock<F>*>(out);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kPanel) {
    pack_panel<F>(w, w_row_bytes, r0, static_cast<int>(std::min<int64_t>(kPanel, rows - r0)), nb, 0,
                  packed + (r0 / kPanel) * nb);
  }
}

bool format_of(GgmlType type, Format* f) {
  switch (type) {
    case GgmlType::Q4_0: *f = Format::kQ4_0; return true;
    case GgmlType::Q4_1: *f = Format::kQ4_1; return true;
    case GgmlType::Q8_0: *f = Format::kQ8_0; return true;
    default: return false;
  }
}

}  // namespace

MatmulKernel avx512_matmul_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return gemm<Format::kQ4_0>;
    case GgmlType::Q4_1: return gemm<Format::kQ4_1>;
    // Q8_0 as stored stays on the AVX2 kernel: repacking a 49152x576 Q8_0 LM
    // head on every call stalls on memory at decode (3.7 ms vs 1.44 ms per token
    // measured). Prepacked (avx512_pack_rows), it takes the kernel below.
    default: return nullptr;
  }
}

MatmulKernel avx512_prepacked_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return gemm_prepacked<Format::kQ4_0>;
    case GgmlType::Q4_1: return gemm_prepacked<Format::kQ4_1>;
    case GgmlType::Q8_0: return gemm_prepacked<Format::kQ8_0>;
    default: return avx512_k_prepacked_kernel(type);
  }
}

size_t avx512_packed_bytes(GgmlType type, int64_t rows, int64_t cols) {
  Format f;
  if (!format_of(type, &f)) return avx512_k_packed_bytes(type, rows, cols);
  if (cols % kQK != 0) return 0;
  const size_t blocks = static_cast<size_t>((rows + kPanel - 1) / kPanel) * static_cast<size_t>(cols / kQK);
  switch (f) {
    case Format::kQ4_0: return blocks * sizeof(PanelBlockQ4_0);
    case Format::kQ4_1: return blocks * sizeof(PanelBlockQ4_1);
    case Format::kQ8_0: return blocks * sizeof(PanelBlockQ8_0);
  }
  return 0;
}

void avx512_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                      int64_t r_begin, int64_t r_end, uint8_t* out) {
  Format f;
  if (!format_of(type, &f)) return avx512_k_pack_rows(type, w, w_row_bytes, rows, cols, r_begin, r_end, out);
  switch (f) {
    case Format::kQ4_0: return pack_rows<Format::kQ4_0>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case Format::kQ4_1: return pack_rows<Format::kQ4_1>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case Format::kQ8_0: return pack_rows<Format::kQ8_0>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
  }
}

}  // namespace nucleus::kernels::cpu

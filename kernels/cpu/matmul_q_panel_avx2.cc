// AVX2 kernels for the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, IQ4_NL) in the panel layout of q_panel.h, against ActBlockQ8
// activations: the float order of the AVX-512 VNNI kernels (one exact integer
// dot product per row and block, then one FMA per block), so both paths and
// the scalar one give bitwise the same y.
//
// A tile is 8 rows (half a panel, one row per 32-bit lane of a YMM register)
// by MR tokens. Per block, lane r of q[g] holds row r's weight bytes 4g..4g+3;
// the token's 4 activation bytes of group g are broadcast and multiplied with
// maddubs (u8 x s8 -> pairs of s16) then summed to 32 bits with madd. Q4
// weights are nibbles in [0, 15]: 8 groups of pair sums stay below
// 8 * 2 * 15 * 127 = 30480 and add up in 16 bits; Q4_0 adds -8 * sum(x). Q5
// values (the nibble and a fifth bit, 0..31) add up 4 groups at a time; Q5_0
// adds -16 * sum(x). Q8_0 weights (stored w + 128) are flipped back to
// signed, IQ4_NL's looked up (kIq4nlValues), w's sign moved onto the
// activation (|w| <= 128, a pair <= 32512), and summed per group in 32 bits.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/q_panel_avx2.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/cpu/register_pin.h"

namespace nucleus::kernels::cpu {
namespace {

enum class Format { kQ4_0, kQ4_1, kQ8_0, kQ5_0, kQ5_1, kIQ4_NL };

template <Format F>
struct PanelOf;
template <> struct PanelOf<Format::kQ4_0> { using type = PanelBlockQ4_0; };
template <> struct PanelOf<Format::kQ4_1> { using type = PanelBlockQ4_1; };
template <> struct PanelOf<Format::kQ8_0> { using type = PanelBlockQ8_0; };
template <> struct PanelOf<Format::kQ5_0> { using type = PanelBlockQ5_0; };
template <> struct PanelOf<Format::kQ5_1> { using type = PanelBlockQ5_1; };
template <> struct PanelOf<Format::kIQ4_NL> { using type = PanelBlockIQ4_NL; };
template <Format F>
using Panel = typename PanelOf<F>::type;

// Tokens per register tile, every format (Q4_1 took 3 before the sums were
// pinned to registers, register_pin.h: 4 is 4-7% faster on Zen 3).
constexpr int kMR = 4;

// Panel blocks fetched ahead of the tile: a packed weight is one sequential
// stream, which decode reads once per token (see matmul_q_avx512.cc).
constexpr int64_t kPrefetchBlocks = 16;
constexpr int64_t kTokenChunk = 64;  // token rows kept hot in L1/L2 while a panel passes

// Tokens [t0, t0 + MR) against halves [half, half + NH) of one panel, whose
// rows r0 + 8 * half + [0, rows - 8 * half) exist. Decode (one token) takes
// both halves in one pass, so the panel is read as one sequential stream;
// the float operations of each lane are the same whatever MR and NH.
template <Format F, int MR, int NH = 1>
__attribute__((always_inline)) inline void tile(const MatmulArgs& a, const Panel<F>* panel, int64_t nb, int64_t t0,
                                                int64_t r0, int half, int rows) {
  __m256 acc[MR][NH], extra[MR][NH];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) acc[t][h] = extra[t][h] = _mm256_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Panel<F>& p = panel[b];
    {  // prefetches never fault, so running past the weight's end is harmless
      const char* ahead = reinterpret_cast<const char*>(panel) + (b + kPrefetchBlocks) * sizeof(Panel<F>);
#pragma GCC unroll 8
      for (size_t line = 0; line < sizeof(Panel<F>); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    }
    const uint8_t* xb[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) xb[t] = x_rows[t] + b * sizeof(ActBlockQ8);
    __m256i dot[MR][NH];
    if constexpr (F == Format::kQ8_0) {
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) dot[t][h] = _mm256_set1_epi32(0);
      }
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          // byte offset of the half in each 64-byte group
          const __m256i w = _mm256_xor_si256(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.q[g] + 32 * (half + h))),
              _mm256_set1_epi8(static_cast<char>(0x80)));
          const __m256i abs_w = _mm256_sign_epi8(w, w);
#pragma GCC unroll 8
          for (int t = 0; t < MR; ++t) {
            const __m256i pairs = _mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(bcast_group(xb[t], g), w));
            dot[t][h] = _mm256_add_epi32(dot[t][h], widen_pairs(pairs));
            pin_register(dot[t][h]);
          }
        }
      }
    } else if constexpr (F == Format::kIQ4_NL) {
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) dot[t][h] = _mm256_set1_epi32(0);
      }
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          __m256i lo, hi;  // signed values of elements 4g + i, 16 + 4g + i
          iq4_nl_values(p, g, half + h, &lo, &hi);
          const __m256i abs_lo = _mm256_sign_epi8(lo, lo), abs_hi = _mm256_sign_epi8(hi, hi);
#pragma GCC unroll 8
          for (int t = 0; t < MR; ++t) {
            dot[t][h] = _mm256_add_epi32(dot[t][h], widen_pairs(_mm256_maddubs_epi16(abs_lo, _mm256_sign_epi8(bcast_group(xb[t], g), lo))));
            dot[t][h] = _mm256_add_epi32(dot[t][h], widen_pairs(_mm256_maddubs_epi16(abs_hi, _mm256_sign_epi8(bcast_group(xb[t], g + 4), hi))));
            pin_register(dot[t][h]);
          }
        }
      }
    } else {
      // Unsigned values: 2 maddubs per group pair g, g + 4 into 16-bit sums,
      // widened every kUnsignedChain maddubs (q_panel_avx2.h).
      constexpr int kGroupsPerSum = kUnsignedChain<Panel<F>> / 2;
      __m256i sum16[MR][NH];
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        if (g % kGroupsPerSum == 0) {
#pragma GCC unroll 8
          for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
            for (int h = 0; h < NH; ++h) sum16[t][h] = _mm256_setzero_si256();
          }
        }
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          __m256i lo, hi;  // elements 4g + i, 16 + 4g + i
          unsigned_values(p, g, half + h, &lo, &hi);
#pragma GCC unroll 8
          for (int t = 0; t < MR; ++t) {
            sum16[t][h] = _mm256_add_epi16(sum16[t][h], _mm256_maddubs_epi16(lo, bcast_group(xb[t], g)));
            sum16[t][h] = _mm256_add_epi16(sum16[t][h], _mm256_maddubs_epi16(hi, bcast_group(xb[t], g + 4)));
            pin_register(sum16[t][h]);
          }
        }
        if (g % kGroupsPerSum == kGroupsPerSum - 1) {
#pragma GCC unroll 8
          for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
            for (int h = 0; h < NH; ++h) {
              const __m256i d32 = widen_pairs(sum16[t][h]);
              dot[t][h] = g == kGroupsPerSum - 1 ? d32 : _mm256_add_epi32(dot[t][h], d32);
            }
          }
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) dot[t][h] = remove_offset<Panel<F>>(dot[t][h], xb[t]);
      }
    }
    accumulate_q_block<Panel<F>, MR, NH>(p, half, xb, dot, acc, extra);
  }
  store_q_tile<Panel<F>, MR, NH>(a, t0, r0, half, rows, acc, extra);
}

template <Format F>
void token_strip(const MatmulArgs& a, const Panel<F>* panel, int64_t nb, int64_t t0, int64_t t1, int64_t r0, int half,
                 int rows) {
  int64_t t = t0;
  for (; t + kMR <= t1; t += kMR) tile<F, kMR>(a, panel, nb, t, r0, half, rows);
  switch (t1 - t) {
    case 1: tile<F, 1>(a, panel, nb, t, r0, half, rows); break;
    case 2: if constexpr (kMR > 2) tile<F, 2>(a, panel, nb, t, r0, half, rows); break;
    case 3: if constexpr (kMR > 3) tile<F, 3>(a, panel, nb, t, r0, half, rows); break;
    default: break;
  }
  static_assert(kMR <= 4, "the remainder switch covers 1..3");
}

// Rows [r_begin, r_end) (r_begin a multiple of 16) of a packed weight whose
// panel k starts at panel_of(k).
template <Format F, typename PanelOf>
void gemm_panels(const MatmulArgs& a, int64_t r_begin, int64_t r_end, PanelOf&& panel_of) {
  const int64_t nb = a.cols / kQK;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kQPanelRows) {
    const Panel<F>* panel = panel_of(r0);
    const int rows = static_cast<int>(std::min<int64_t>(kQPanelRows, r_end - r0));
    if (a.T == 1 && rows > 8) {  // decode: both halves in one pass over the panel
      tile<F, 1, 2>(a, panel, nb, 0, r0, 0, rows);
      continue;
    }
    for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
      const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
      for (int half = 0; half < 2 && 8 * half < rows; ++half) token_strip<F>(a, panel, nb, tc, tc_end, r0, half, rows);
    }
  }
}

constexpr GgmlType type_of(Format f) {
  switch (f) {
    case Format::kQ4_0: return GgmlType::Q4_0;
    case Format::kQ4_1: return GgmlType::Q4_1;
    case Format::kQ5_0: return GgmlType::Q5_0;
    case Format::kQ5_1: return GgmlType::Q5_1;
    case Format::kIQ4_NL: return GgmlType::IQ4_NL;
    default: return GgmlType::Q8_0;
  }
}

// Decode and small batches read the panels as packed; from kMinUnpackedTokens
// on, each panel is unpacked once per token slab.
template <Format F>
void gemm_prepacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  if (a.T >= kMinUnpackedTokens) {
    avx2_q_gemm_unpacked(type_of(F), a, r_begin, r_end);
    return;
  }
  const int64_t nb = a.cols / kQK;
  const auto* packed = reinterpret_cast<const Panel<F>*>(a.w);
  gemm_panels<F>(a, r_begin, r_end, [&](int64_t r0) { return packed + (r0 / kQPanelRows) * nb; });
}

template <Format F>
struct StoredBlock;
template <>
struct StoredBlock<Format::kQ4_0> {
  using Block = BlockQ4_0;
  static constexpr int kGroups = 4;
};
template <>
struct StoredBlock<Format::kQ4_1> {
  using Block = BlockQ4_1;
  static constexpr int kGroups = 4;
};
template <>
struct StoredBlock<Format::kQ8_0> {
  using Block = BlockQ8_0;
  static constexpr int kGroups = 8;
};

// Packs rows [r0, r0 + n) (n <= 16) of a weight as stored into one panel
// (q_panel.h's bytes, the same as q_panel_pack_rows): each 4-byte group of 8
// rows is one masked gather; rows past n read nothing and stay zero.
template <Format F>
void pack_panel_gather(const MatmulArgs& a, int64_t r0, int n, Panel<F>* out) {
  using Block = typename StoredBlock<F>::Block;
  const int64_t nb = a.cols / kQK;
  const uint8_t* base = a.w + r0 * a.w_row_bytes;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int half = 0; half < 2; ++half) {
    const __m256i rows = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * half));
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), rows);
    const __m256i offsets = _mm256_mullo_epi32(rows, _mm256_set1_epi32(static_cast<int>(a.w_row_bytes)));
    for (int64_t b = 0; b < nb; ++b) {
      const auto* block = reinterpret_cast<const int*>(base + b * sizeof(Block));
      Panel<F>& p = out[b];
#pragma GCC unroll 8
      for (int g = 0; g < StoredBlock<F>::kGroups; ++g) {
        const auto* group = reinterpret_cast<const int*>(base + b * sizeof(Block) + offsetof(Block, qs) + 4 * g);
        __m256i q = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), group, offsets, live, 1);
        if constexpr (F == Format::kQ8_0) q = _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p.q[g] + 32 * half), q);
      }
      // The dword at each block's start: fp16 d, then (Q4_1) fp16 m.
      const __m256i head = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), block, offsets, live, 1);
      const __m256i low16 = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4, 5, 8, 9,
                                             12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
      const __m256i d = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(head, low16), 0x08);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p.d + 8 * half), _mm256_castsi256_si128(d));
      if constexpr (F == Format::kQ4_1) {
        const __m256i m = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(_mm256_srli_epi32(head, 16), low16), 0x08);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p.m + 8 * half), _mm256_castsi256_si128(m));
      }
    }
  }
}

// Weights as stored (not packed at load): each panel is packed into
// thread-local scratch first. Slower, but the same bytes reach the same tile.
// The scratch holds this file's own element type (internal linkage): a
// std::vector<PanelBlockQ4_0> would be an inline template that every file
// using one instantiates, and the linker keeps one copy of it, which may be
// matmul_q_avx512.cc's, compiled with AVX-512: that copy crashed (SIGILL)
// the AVX2 path on a CPU without AVX-512 in the -O1 sanitizer build.
template <Format F>
struct ScratchBlock {
  Panel<F> block;
};

template <Format F>
void gemm_as_stored(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nb = a.cols / kQK;
  thread_local std::vector<ScratchBlock<F>> scratch;
  if (scratch.size() < static_cast<size_t>(nb)) scratch.resize(static_cast<size_t>(nb));
  Panel<F>* panels = &scratch.front().block;  // ScratchBlock<F> is exactly a Panel<F>
  static_assert(sizeof(ScratchBlock<F>) == sizeof(Panel<F>));
  gemm_panels<F>(a, r_begin, r_end, [&](int64_t r0) {
    pack_panel_gather<F>(a, r0, static_cast<int>(std::min<int64_t>(kQPanelRows, r_end - r0)), panels);
    return static_cast<const Panel<F>*>(panels);
  });
}

}  // namespace

MatmulKernel avx2_q_panel_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return gemm_prepacked<Format::kQ4_0>;
    case GgmlType::Q4_1: return gemm_prepacked<Format::kQ4_1>;
    case GgmlType::Q8_0: return gemm_prepacked<Format::kQ8_0>;
    case GgmlType::Q5_0: return gemm_prepacked<Format::kQ5_0>;
    case GgmlType::Q5_1: return gemm_prepacked<Format::kQ5_1>;
    case GgmlType::IQ4_NL: return gemm_prepacked<Format::kIQ4_NL>;
    default: return nullptr;
  }
}

MatmulKernel avx2_q_as_stored_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return gemm_as_stored<Format::kQ4_0>;
    case GgmlType::Q4_1: return gemm_as_stored<Format::kQ4_1>;
    case GgmlType::Q8_0: return gemm_as_stored<Format::kQ8_0>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

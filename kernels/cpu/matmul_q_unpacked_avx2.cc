// Prefill (many tokens) for the 32-element weight types (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, IQ4_NL) in the panel layout of q_panel.h on AVX2: each panel is
// unpacked once per token slab into plain bytes, and every token then runs a
// microkernel of MR tokens x 16 rows that only multiplies. The same idea as
// the k-quants' k_unpacked_avx2.h: the decode-shaped tiles of
// matmul_q_panel_avx2.cc unpack the weights again for every 4 tokens and
// broadcast each activation group for 8 rows only.
//
// The float step is the one every path shares (q_panel.h), per row and token,
// block after block; each block's integer dot product is exact. A tile runs
// all of a row's blocks (Q4_1's two accumulators cannot be parked in y), so
// the whole panel is unpacked: 16 bytes per column (128 KB for 8192 columns,
// in L2; Q8_0 and IQ4_NL 32), while a slab of activations streams past it
// (gemm_unpacked).
#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/byte_loads.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/q_panel_avx2.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/cpu/register_pin.h"

namespace nucleus::kernels::cpu {
namespace {

// One 32-column block of a 16-row panel, unpacked: lane r of w[g][h] holds
// elements 4g..4g+3 of row 8h + r. Q4_0 / Q4_1 / Q5_0 / Q5_1: the unsigned
// values (0..15, 0..31); Q8_0 and IQ4_NL: |w|, and the signed w in
// sign_source, whose signs move onto the activation (|w| <= 128 and |x| <=
// 127: a maddubs pair <= 32512).
struct alignas(32) UnpackedUnsignedBlock {
  uint8_t w[8][2][32];
};
struct alignas(32) UnpackedSignedBlock {
  uint8_t w[8][2][32];
  int8_t sign_source[8][2][32];
};

template <class Panel>
constexpr bool kSigned = std::is_same_v<Panel, PanelBlockQ8_0> || std::is_same_v<Panel, PanelBlockIQ4_NL>;

template <class Panel>
struct Format {
  using Unpacked = std::conditional_t<kSigned<Panel>, UnpackedSignedBlock, UnpackedUnsignedBlock>;
  static constexpr int kMR = kHasMin<Panel> ? 2 : 3;  // with a min: two float accumulators per tile cell (acc, extra)
};

inline __m256i load32(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store32(void* p, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }

template <class Panel>
void unpack_block(const Panel& p, typename Format<Panel>::Unpacked* u) {
  for (int h = 0; h < 2; ++h) {
    if constexpr (std::is_same_v<Panel, PanelBlockQ8_0>) {
      for (int g = 0; g < 8; ++g) {
        const __m256i w = _mm256_xor_si256(load32(p.q[g] + 32 * h), _mm256_set1_epi8(static_cast<char>(0x80)));
        store32(u->w[g][h], _mm256_sign_epi8(w, w));
        store32(u->sign_source[g][h], w);
      }
    } else {
      for (int g = 0; g < 4; ++g) {
        __m256i lo, hi;  // elements 4g + i, 16 + 4g + i
        if constexpr (std::is_same_v<Panel, PanelBlockIQ4_NL>) {
          iq4_nl_values(p, g, h, &lo, &hi);
          store32(u->sign_source[g][h], lo);
          store32(u->sign_source[g + 4][h], hi);
          lo = _mm256_sign_epi8(lo, lo);
          hi = _mm256_sign_epi8(hi, hi);
        } else {
          unsigned_values(p, g, h, &lo, &hi);
        }
        store32(u->w[g][h], lo);
        store32(u->w[g + 4][h], hi);
      }
    }
  }
}

// Tokens [t0, t0 + MR) against halves [0, NH) of one panel (rows r0 + [0, rows)),
// all nb blocks.
template <class Panel, int MR, int NH>
__attribute__((always_inline)) inline void tile(const MatmulArgs& a, const Panel* panel,
                                                const typename Format<Panel>::Unpacked* u, int64_t nb, int64_t t0,
                                                int64_t r0, int rows) {
  constexpr int kChain = kUnsignedChain<Panel>;
  __m256 acc[MR][NH], extra[MR][NH];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) acc[t][h] = extra[t][h] = _mm256_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const auto& ub = u[b];
    const uint8_t* xb[MR];
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) xb[t] = x_rows[t] + b * sizeof(ActBlockQ8);
    // Unsigned values: kChain groups of pair sums add up in 16 bits, then are
    // widened; a signed type's pairs are widened at once.
    __m256i dot[MR][NH], sum16[MR][NH];
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      __m256i w[NH];
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) w[h] = load32(ub.w[g][h]);
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
        const __m256i x = bcast_group(xb[t], g);
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          if constexpr (kSigned<Panel>) {
            const __m256i d32 = widen_pairs(_mm256_maddubs_epi16(w[h], _mm256_sign_epi8(x, load32(ub.sign_source[g][h]))));
            dot[t][h] = g == 0 ? d32 : _mm256_add_epi32(dot[t][h], d32);
            pin_register(dot[t][h]);
          } else {
            const __m256i m = _mm256_maddubs_epi16(w[h], x);
            sum16[t][h] = g % kChain == 0 ? m : _mm256_add_epi16(sum16[t][h], m);
            pin_register(sum16[t][h]);
            if (g % kChain == kChain - 1) {
              const __m256i d32 = widen_pairs(sum16[t][h]);
              dot[t][h] = g == kChain - 1 ? d32 : _mm256_add_epi32(dot[t][h], d32);
            }
          }
        }
      }
    }
    if constexpr (!kSigned<Panel>) {
#pragma GCC unroll 8
      for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) dot[t][h] = remove_offset<Panel>(dot[t][h], xb[t]);
      }
    }
    accumulate_q_block<Panel, MR, NH>(panel[b], 0, xb, dot, acc, extra);
  }
  store_q_tile<Panel, MR, NH>(a, t0, r0, 0, rows, acc, extra);
}

template <class Panel, int NH>
void token_strip(const MatmulArgs& a, const Panel* panel, const typename Format<Panel>::Unpacked* u, int64_t nb,
                 int64_t t0, int64_t t1, int64_t r0, int rows) {
  constexpr int kMR = Format<Panel>::kMR;
  int64_t t = t0;
  for (; t + kMR <= t1; t += kMR) tile<Panel, kMR, NH>(a, panel, u, nb, t, r0, rows);
  switch (t1 - t) {
    case 1: tile<Panel, 1, NH>(a, panel, u, nb, t, r0, rows); break;
    case 2: if constexpr (kMR > 2) tile<Panel, 2, NH>(a, panel, u, nb, t, r0, rows); break;
    default: break;
  }
  static_assert(kMR <= 3, "the remainder switch covers 1..2");
}

// The scratch holds this file's own element type, so the std::vector code
// instantiated for it is this file's (k_panel's ScratchBlock comment: a
// shared instantiation may be another ISA's copy).
template <class Panel>
struct ScratchBlock {
  typename Format<Panel>::Unpacked block;
};

// Rows [r_begin, r_end) for all a.T tokens, in slabs of tokens; every panel
// of the row range is unpacked once per slab. A slab of ~192 KB of
// activations would stay in L2, but on long rows it is short (an FFN down
// projection of 8192 columns: 18 tokens), and each slab streams every panel
// from DRAM again and unpacks it again. From L3 the activations cost less:
// slabs of at least 512 tokens, 1B Q8_0 prefill 512 (Zen 3, 5 interleaved
// rounds): 109.1 -> 115.1 tok/s median, Q4_0 174.5 -> 178.4 (3 rounds); 128
// tokens gave 112.9 and 179.7, prefetching the next panel nothing more.
template <class Panel>
void gemm_unpacked(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  constexpr int64_t kSlabBytes = 192 << 10;
  constexpr int64_t kMinSlabTokens = 512;
  constexpr int kMR = Format<Panel>::kMR;
  const int64_t nb = a.cols / kQK;
  const int64_t slab_tokens =
      std::max<int64_t>(kMinSlabTokens, kSlabBytes / static_cast<int64_t>(a.x_row_bytes) / kMR * kMR);
  thread_local std::vector<ScratchBlock<Panel>> scratch;
  if (scratch.size() < static_cast<size_t>(nb)) scratch.resize(static_cast<size_t>(nb));
  auto* u = &scratch.front().block;
  static_assert(sizeof(ScratchBlock<Panel>) == sizeof(typename Format<Panel>::Unpacked));
  const auto* packed = reinterpret_cast<const Panel*>(a.w);
  for (int64_t t0 = 0; t0 < a.T; t0 += slab_tokens) {
    const int64_t t1 = std::min(a.T, t0 + slab_tokens);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kQPanelRows) {
      const Panel* panel = packed + (r0 / kQPanelRows) * nb;
      const int rows = static_cast<int>(std::min<int64_t>(kQPanelRows, r_end - r0));
      for (int64_t b = 0; b < nb; ++b) unpack_block(panel[b], &u[b]);
      if (rows > 8) {
        token_strip<Panel, 2>(a, panel, u, nb, t0, t1, r0, rows);
      } else {
        token_strip<Panel, 1>(a, panel, u, nb, t0, t1, r0, rows);
      }
    }
  }
}

}  // namespace

void avx2_q_gemm_unpacked(GgmlType type, const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  switch (type) {
    case GgmlType::Q4_0: gemm_unpacked<PanelBlockQ4_0>(a, r_begin, r_end); break;
    case GgmlType::Q4_1: gemm_unpacked<PanelBlockQ4_1>(a, r_begin, r_end); break;
    case GgmlType::Q8_0: gemm_unpacked<PanelBlockQ8_0>(a, r_begin, r_end); break;
    case GgmlType::Q5_0: gemm_unpacked<PanelBlockQ5_0>(a, r_begin, r_end); break;
    case GgmlType::Q5_1: gemm_unpacked<PanelBlockQ5_1>(a, r_begin, r_end); break;
    case GgmlType::IQ4_NL: gemm_unpacked<PanelBlockIQ4_NL>(a, r_begin, r_end); break;
    default: break;
  }
}

}  // namespace nucleus::kernels::cpu

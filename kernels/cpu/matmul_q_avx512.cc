// AVX-512 VNNI kernels for Q4_0, Q4_1 and Q8_0 weights against ActBlockQ8
// activations.
//
// Layout: 16 weight rows (a panel) are one ZMM register, one row per 32-bit
// lane. Each 32-element block of the panel is repacked once (PackedBlock):
// q[g] holds, in lane r, the 4 weight bytes 4g..4g+3 of row r as unsigned
// bytes. A token's block is then 8 VPDPBUSD with its 4-byte groups broadcast:
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
// These results differ from the AVX2 kernels' (which sum 8 float lanes per block).
// GCC 12's avx512fintrin.h builds _mm512_undefined_*() from a self-initialised
// variable, which -Wmaybe-uninitialized reports in every caller (a false positive).
#if defined(__GNUC__) && !defined(__clang__)  // clang knows no such warning (and errors on the name)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

constexpr int kPanel = 16;        // weight rows per ZMM register
constexpr int kGroups = kQK / 4;  // 4-byte groups per block
constexpr int kMR = 6;            // tokens per register tile: 6 x (int dot, acc, extra) + 8 weight registers
constexpr int64_t kPanelsPerGroup = 4;  // panels repacked together, reused by every token chunk (T > kMR)
constexpr int64_t kTokenChunk = 64;     // token rows kept hot in L1/L2 while a panel group passes

struct alignas(64) PackedBlock {
  __m512i q[kGroups];  // lane r: bytes 4g..4g+3 of row r, unsigned
  __m512 d;            // lane r: row r's block scale
  __m512 m;            // lane r: row r's block min (Q4_1)
};

enum class Format { kQ4_0, kQ4_1, kQ8_0 };

template <Format F>
constexpr size_t block_bytes() {
  return F == Format::kQ4_0 ? sizeof(BlockQ4_0) : F == Format::kQ4_1 ? sizeof(BlockQ4_1) : sizeof(BlockQ8_0);
}

template <Format F>
constexpr size_t qs_offset() {
  return F == Format::kQ4_0 ? offsetof(BlockQ4_0, qs) : F == Format::kQ4_1 ? offsetof(BlockQ4_1, qs) : offsetof(BlockQ8_0, qs);
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

// Repacks blocks [0, nb) of rows [r0, r0 + n) (n <= 16; missing rows are zero),
// prefetching the bytes of rows [r0 + 32, prefetch_end) into L2 on the way.
template <Format F>
void pack_panel(const MatmulArgs& a, int64_t r0, int n, int64_t nb, int64_t prefetch_end, PackedBlock* out) {
  const uint8_t* rows[kPanel];
  for (int r = 0; r < kPanel; ++r) rows[r] = r < n ? a.w + (r0 + r) * a.w_row_bytes : kZeroBlock;
  const __mmask16 live = static_cast<__mmask16>((1u << n) - 1u);
  // Byte offset of each row from row r0 (the scales are gathered).
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(a.w_row_bytes)));
  const uint8_t* base = a.w + r0 * a.w_row_bytes;
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  // The panel reads 16 rows side by side: 16 short streams that the hardware
  // prefetcher follows badly (measured 3-6x slower than one sequential stream
  // on a 30 MB matrix). So the panel after next is fetched as one sequential
  // range into L2, spread over this panel's blocks.
  const char* pf = reinterpret_cast<const char*>(base + 2 * kPanel * a.w_row_bytes);
  const char* pf_end = reinterpret_cast<const char*>(a.w + std::max(prefetch_end, r0 + 2 * kPanel) * a.w_row_bytes);
  const int64_t pf_per_block = ((pf_end - pf) / 64 + nb) / nb;
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t i = 0; i < pf_per_block && pf < pf_end; ++i, pf += 64) _mm_prefetch(pf, _MM_HINT_T1);
    PackedBlock& p = out[b];
    const size_t off = static_cast<size_t>(b) * block_bytes<F>();
    const uint8_t* block_rows[kPanel];
    for (int r = 0; r < kPanel; ++r) block_rows[r] = r < n ? rows[r] + off : kZeroBlock;
    __m512i lo[4];
    transpose_16x4(block_rows, qs_offset<F>(), lo);
    if constexpr (F == Format::kQ8_0) {
      __m512i hi[4];
      transpose_16x4(block_rows, qs_offset<F>() + 16, hi);
      const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
      for (int g = 0; g < 4; ++g) {
        p.q[g] = _mm512_xor_si512(lo[g], flip);
        p.q[g + 4] = _mm512_xor_si512(hi[g], flip);
      }
    } else {
      // Byte j holds element j (low nibble) and element j + 16 (high nibble).
      for (int g = 0; g < 4; ++g) {
        p.q[g] = _mm512_and_si512(lo[g], nibble);
        p.q[g + 4] = _mm512_and_si512(_mm512_srli_epi16(lo[g], 4), nibble);
      }
    }
    // The dword at each block's start: fp16 d, then (Q4_1) fp16 m.
    const __m512i head = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, row_offsets, base + off, 1);
    p.d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(head));
    if constexpr (F == Format::kQ4_1) p.m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(head, 16)));
  }
}

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Tokens [t0, t0 + MR) against one repacked panel; writes the lanes in `live`.
template <Format F, int MR>
__attribute__((always_inline)) inline void tile(const MatmulArgs& a, const PackedBlock* panel, int64_t nb, int64_t t0,
                                                int64_t r0, __mmask16 live) {
  __m512 acc[MR], extra[MR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    acc[t] = _mm512_setzero_ps();
    extra[t] = _mm512_setzero_ps();
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
  }
  for (int64_t b = 0; b < nb; ++b) {
    const PackedBlock& p = panel[b];
    __m512i w[kGroups];
#pragma GCC unroll 8
    for (int g = 0; g < kGroups; ++g) w[g] = _mm512_load_si512(&p.q[g]);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const uint8_t* xb = x_rows[t] + b * sizeof(ActBlockQ8);
      __m512i dot;
      if constexpr (F == Format::kQ4_1) {
        dot = _mm512_setzero_si512();
      } else {
        constexpr int kOffset = F == Format::kQ4_0 ? 8 : 128;
        dot = _mm512_set1_epi32(-kOffset * load_i32(xb + offsetof(ActBlockQ8, sum)));
      }
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) {
        dot = _mm512_dpbusd_epi32(dot, w[g], _mm512_set1_epi32(load_i32(xb + offsetof(ActBlockQ8, qs) + 4 * g)));
      }
      const __m512 scale = _mm512_mul_ps(p.d, _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, d))));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[t]);
      if constexpr (F == Format::kQ4_1) {
        extra[t] = _mm512_fmadd_ps(p.m, _mm512_set1_ps(load_f32(xb + offsetof(ActBlockQ8, s))), extra[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    const __m512 y = F == Format::kQ4_1 ? _mm512_add_ps(acc[t], extra[t]) : acc[t];
    _mm512_mask_storeu_ps(a.y + (t0 + t) * a.ldy + r0, live, y);
  }
}

template <Format F>
void token_strip(const MatmulArgs& a, const PackedBlock* panel, int64_t nb, int64_t t0, int64_t t1, int64_t r0,
                 __mmask16 live) {
  int64_t t = t0;
  for (; t + kMR <= t1; t += kMR) tile<F, kMR>(a, panel, nb, t, r0, live);
  switch (t1 - t) {
    case 1: tile<F, 1>(a, panel, nb, t, r0, live); break;
    case 2: tile<F, 2>(a, panel, nb, t, r0, live); break;
    case 3: tile<F, 3>(a, panel, nb, t, r0, live); break;
    case 4: tile<F, 4>(a, panel, nb, t, r0, live); break;
    case 5: tile<F, 5>(a, panel, nb, t, r0, live); break;
    default: break;
  }
  static_assert(kMR == 6, "the remainder switch covers 1..kMR-1");
}

template <Format F>
void gemm(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nb = a.cols / kQK;
  thread_local std::vector<PackedBlock> scratch;
  if (scratch.size() < static_cast<size_t>(nb * kPanelsPerGroup)) scratch.resize(static_cast<size_t>(nb * kPanelsPerGroup));
  // One token tile (decode): one panel at a time, its repacked blocks stay in L1.
  const int64_t group_rows = kPanel * (a.T <= kMR ? 1 : kPanelsPerGroup);
  for (int64_t g0 = r_begin; g0 < r_end; g0 += group_rows) {
    const int64_t g1 = std::min(r_end, g0 + group_rows);
    const int64_t panels = (g1 - g0 + kPanel - 1) / kPanel;
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t r0 = g0 + p * kPanel;
      pack_panel<F>(a, r0, static_cast<int>(std::min<int64_t>(kPanel, g1 - r0)), nb, std::min(r_end, r0 + 3 * kPanel),
                    scratch.data() + p * nb);
    }
    for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
      const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t r0 = g0 + p * kPanel;
        const int n = static_cast<int>(std::min<int64_t>(kPanel, g1 - r0));
        token_strip<F>(a, scratch.data() + p * nb, nb, tc, tc_end, r0, static_cast<__mmask16>((1u << n) - 1u));
      }
    }
  }
}

}  // namespace

MatmulKernel avx512_matmul_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return gemm<Format::kQ4_0>;
    case GgmlType::Q4_1: return gemm<Format::kQ4_1>;
    // Q8_0 stays on the AVX2 kernel: the 16-row repacking of a 49152x576 Q8_0
    // LM head stalls on memory at decode (3.7 ms vs 1.44 ms per token measured),
    // and a path cannot be chosen per batch size without breaking batch invariance.
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

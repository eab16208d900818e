// The register-tiled loop shared by every AVX2 matmul kernel. Include ONLY
// from *_avx2.cc files.
//
// A kernel type K describes one weight format:
//   K::W  load_w(const uint8_t* w_row, int64_t b)   block b of a weight row, unpacked once
//   K::X  load_x(const uint8_t* x_row, int64_t b)   block b of an activation row
//   void  step(const W&, const X&, __m256& acc, float& extra)
//   float finish(__m256 acc, float extra, const uint8_t* w_row, const uint8_t* x_row, int64_t cols)
//   int64_t blocks(int64_t cols)
// tile<K, MR, NR> computes an MR (tokens) x NR (weight rows) tile: each weight
// block is unpacked once and used for MR tokens. Every output element has its
// own accumulator and sees exactly: for b in order, step(w_b, x_b); then
// finish. That sequence does not depend on MR, NR or the tile position, so
// the 1-row (decode) path and the prefill tiles give bitwise equal results.
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/vec_math_avx2.h"

namespace nucleus::kernels::cpu {
namespace {

template <class K, int MR, int NR>
__attribute__((always_inline)) inline void tile(const MatmulArgs& a, int64_t t0, int64_t r0) {
  __m256 acc[MR][NR];
  float extra[MR][NR];
  const uint8_t* w_rows[NR];
  const uint8_t* x_rows[MR];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) w_rows[r] = a.w + (r0 + r) * a.w_row_bytes;
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
    x_rows[t] = a.x + (t0 + t) * a.x_row_bytes;
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) acc[t][r] = _mm256_setzero_ps(), extra[t][r] = 0.0f;
  }
  const int64_t nb = K::blocks(a.cols);
  for (int64_t b = 0; b < nb; ++b) {
    typename K::W w[NR];
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) w[r] = K::load_w(w_rows[r], b);
#pragma GCC unroll 8
    for (int t = 0; t < MR; ++t) {
      const typename K::X x = K::load_x(x_rows[t], b);
#pragma GCC unroll 8
      for (int r = 0; r < NR; ++r) K::step(w[r], x, acc[t][r], extra[t][r]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < MR; ++t) {
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      a.y[(t0 + t) * a.ldy + r0 + r] = K::finish(acc[t][r], extra[t][r], w_rows[r], x_rows[t], a.cols);
    }
  }
}

// Tokens [t0, t1) against rows [r0, r0 + NR) (or 1 row when NR == 1).
template <class K, int NR>
inline void token_strip(const MatmulArgs& a, int64_t t0, int64_t t1, int64_t r0) {
  int64_t t = t0;
  for (; t + K::kMR <= t1; t += K::kMR) tile<K, K::kMR, NR>(a, t, r0);
  switch (t1 - t) {
    case 1: tile<K, 1, NR>(a, t, r0); break;
    case 2: if constexpr (K::kMR > 2) tile<K, 2, NR>(a, t, r0); break;
    case 3: if constexpr (K::kMR > 3) tile<K, 3, NR>(a, t, r0); break;
    default: break;
  }
}

// The MatmulKernel of format K: rows [r_begin, r_end) for every token.
template <class K>
void gemm(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  static_assert(K::kMR >= 1 && K::kMR <= 4, "token_strip handles remainders up to 3");
  if (a.T == 1) {
    // Decode: one token, memory bound. Rows one after the other (kDecodeNR = 1)
    // make one sequential stream the hardware prefetcher follows; interleaving
    // 4 rows (4 short streams of a few hundred bytes each) measured 3x slower
    // on the 28 MB Q8_0 output matrix (2 GB/s vs 6.3 GB/s).
    int64_t r = r_begin;
    for (; r + K::kDecodeNR <= r_end; r += K::kDecodeNR) tile<K, 1, K::kDecodeNR>(a, 0, r);
    for (; r < r_end; ++r) tile<K, 1, 1>(a, 0, r);
    return;
  }
  // Prefill: a chunk of tokens whose activations stay in L1/L2 while every
  // weight panel of the range streams past them.
  constexpr int64_t kTokenChunk = 64;
  for (int64_t tc = 0; tc < a.T; tc += kTokenChunk) {
    const int64_t tc_end = std::min(a.T, tc + kTokenChunk);
    int64_t r = r_begin;
    for (; r + K::kNR <= r_end; r += K::kNR) token_strip<K, K::kNR>(a, tc, tc_end, r);
    for (; r < r_end; ++r) token_strip<K, 1>(a, tc, tc_end, r);
  }
}

// fp16 -> float with F16C.
static inline float half_to_float(const uint8_t* p) {
  uint16_t h;
  __builtin_memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

}  // namespace
}  // namespace nucleus::kernels::cpu

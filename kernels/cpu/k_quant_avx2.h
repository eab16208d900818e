// What the AVX2 kernels of the 256-element quants (k-quants, IQ4_XS) share:
// the activation block (ActBlockQ8K) and the per-super-block tile settings.
// Include ONLY from *_avx2.cc files, after gemm_tiles_avx2.h.
//
// Per super-block everything up to the scale is exact integer arithmetic:
// sub-block dot products (maddubs + madd with the sub-block scale) summed in
// 8 x s32 lanes, mins and offsets folded in through the activation's
// 16-element sums. Then acc += (d_w * d_x) * float(lanes) (types with mins
// also acc -= (dmin_w * d_x) * float(min lanes)).
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

struct KX {
  const uint8_t* block;  // an ActBlockQ8K
  float d;
};

inline const int8_t* kx_qs(const KX& x) { return reinterpret_cast<const int8_t*>(x.block + offsetof(ActBlockQ8K, qs)); }
inline __m256i kx_bsums(const KX& x) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.block + offsetof(ActBlockQ8K, bsums)));
}
inline __m256i load32(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Scales of a 32-element group of two 16-element sub-blocks, for madd after
// maddubs: lanes 0..7 (elements 0..15) take a, lanes 8..15 take b.
inline __m256i pair_scales(int a, int b) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(b)), _mm_set1_epi16(static_cast<int16_t>(a)));
}

// Bit `from` of every byte of v, moved to bit `to` (the other bits clear).
// Whole-register 16-bit shifts are exact per byte: the bits they carry across
// a byte boundary are masked off.
inline __m256i byte_bit(__m256i v, int from, int to) {
  const __m256i bit = _mm256_and_si256(_mm256_srli_epi16(v, from), _mm256_set1_epi8(1));
  return to == 0 ? bit : _mm256_slli_epi16(bit, to);
}

struct KBase {
  static constexpr int kMR = 4;
  static constexpr int kNR = 1;  // a super-block is 8 registers of weights already
  static constexpr int kDecodeNR = 1;  // see gemm(): one sequential weight stream decodes fastest
  using X = KX;
  static int64_t blocks(int64_t cols) { return cols / kQK_K; }
  static X load_x(const uint8_t* x_row, int64_t b) {
    KX x;
    x.block = x_row + b * sizeof(ActBlockQ8K);
    __builtin_memcpy(&x.d, x.block + offsetof(ActBlockQ8K, d), sizeof x.d);
    return x;
  }
  static float finish(__m256 acc, float, const uint8_t*, const uint8_t*, int64_t) { return hsum(acc); }
};

}  // namespace
}  // namespace nucleus::kernels::cpu

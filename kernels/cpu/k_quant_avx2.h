// What the AVX2 kernels of the 256-element quants (k-quants, IQ4_XS) share:
// the activation block (ActBlockQ8K) and the per-super-block tile settings.
// Include ONLY from *_avx2.cc files, after gemm_tiles_avx2.h.
//
// Per super-block everything up to the scale is exact integer arithmetic:
// sub-block dot products (maddubs + madd with the sub-block scale) summed in
// 8 x s32 lanes, mins and offsets folded in through the activation's
// 16-element sums, then the lanes summed to one exact integer. The float part
// is the one every path computes (matmul_scalar.cc, matmul_k_*avx512.cc), so
// the AVX-512, AVX2 and scalar results are bitwise equal:
//   acc = fma(d_w * d_x, float(isum), acc); acc = fma(-(dmin_w * d_x), float(msum), acc)
// one scalar accumulator per output (the tile's `extra`; its vector acc is unused).
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

// The exact sum of the 8 int32 lanes (no lane sum overflows: see each kernel).
inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// acc = fma(d_w * d_x, float(sum of isum's lanes), acc): one rounding for the
// product of the scales, one for the fused multiply-add (written as an
// intrinsic, not std::fma, so that no library code is compiled with -mfma).
inline void k_accumulate(float& acc, float d_w, float d_x, __m256i isum) {
  const float scale = d_w * d_x;
  const float v = static_cast<float>(hsum_i32(isum));
  acc = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(scale), _mm_set_ss(v), _mm_set_ss(acc)));
}

// Both steps of the types with mins: acc = fma(d_w * d_x, float(isum), acc),
// then acc = fma(-(dmin_w * d_x), float(msum), acc), the two lane sums taken
// in one reduction (pairwise adds of both registers at once: half the work of two).
inline void k_accumulate_with_mins(float& acc, float d_w, float dmin_w, float d_x, __m256i isum, __m256i msum) {
  const __m256i pairs = _mm256_hadd_epi32(isum, msum);  // i01 i23 m01 m23 | i45 i67 m45 m67
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));  // i i m m
  s = _mm_hadd_epi32(s, s);                                                                       // I M I M
  const float scale = d_w * d_x, min_scale = dmin_w * d_x;
  const __m128 v = _mm_cvtepi32_ps(s);
  __m128 a = _mm_fmadd_ss(_mm_set_ss(scale), v, _mm_set_ss(acc));
  a = _mm_fnmadd_ss(_mm_set_ss(min_scale), _mm_movehdup_ps(v), a);
  acc = _mm_cvtss_f32(a);
}

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
  static float finish(__m256, float acc, const uint8_t*, const uint8_t*, int64_t) { return acc; }
};

}  // namespace
}  // namespace nucleus::kernels::cpu

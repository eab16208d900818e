// AVX2 kernels for the 4- to 6-bit k-quants (Q4_K, Q5_K, Q6_K) against
// ActBlockQ8K (k_quant_avx2.h has the arithmetic they share): the Q4_K / Q5_K
// mins and the Q6_K -32 offset enter through the activation's 16-element sums.
#include <immintrin.h>

#include "kernels/cpu/gemm_tiles_avx2.h"
#include "kernels/cpu/k_quant_avx2.h"
#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

// ---- Q4_K ------------------------------------------------------------------

struct Q4KW {
  const uint8_t* qs;   // 128 bytes: 4 x 32 bytes, low nibbles = sub-block 2j, high = 2j + 1
  int16_t scale[8];
  __m256i mins;        // 16 x s16: min of sub-block j in lanes 2j and 2j + 1
  float d;
  float dmin;
};

// A Q4_K or Q5_K super-block at p (d, dmin and scales sit at the same
// offsets in both) with its low nibbles at qs.
inline Q4KW load_q4k_like(const uint8_t* p, const uint8_t* qs) {
  static_assert(offsetof(BlockQ5_K, dmin) == offsetof(BlockQ4_K, dmin));
  static_assert(offsetof(BlockQ5_K, scales) == offsetof(BlockQ4_K, scales));
  Q4KW w;
  w.qs = qs;
  alignas(32) int16_t mins[16];
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    q4_k_scale_min(j, p + offsetof(BlockQ4_K, scales), &scale, &min);
    w.scale[j] = static_cast<int16_t>(scale);
    mins[2 * j] = mins[2 * j + 1] = static_cast<int16_t>(min);
  }
  w.mins = _mm256_load_si256(reinterpret_cast<const __m256i*>(mins));
  w.d = half_to_float(p);
  w.dmin = half_to_float(p + offsetof(BlockQ4_K, dmin));
  return w;
}

struct Q4_KKernel : KBase {
  using W = Q4KW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ4_K);
    return load_q4k_like(p, p + offsetof(BlockQ4_K, qs));
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const int8_t* xq = kx_qs(x);
    __m256i isum = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load32(w.qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q, mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask);
      const __m256i p_lo = _mm256_maddubs_epi16(lo, load32(xq + 64 * j));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, load32(xq + 64 * j + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(w.scale[2 * j])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(w.scale[2 * j + 1])));
    }
    const __m256i msum = _mm256_madd_epi16(kx_bsums(x), w.mins);
    k_accumulate_with_mins(acc, w.d, w.dmin, x.d, isum, msum);
  }
};

// ---- Q5_K ------------------------------------------------------------------

struct Q5KW {
  Q4KW q4;            // scales, mins, d, dmin and the low 4 bits, as Q4_K
  const uint8_t* qh;  // 32 bytes: bit j of byte l is the fifth bit of element 32 * j + l
};

struct Q5_KKernel : KBase {
  using W = Q5KW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ5_K);
    return {load_q4k_like(p, p + offsetof(BlockQ5_K, qs)), p + offsetof(BlockQ5_K, qh)};
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const int8_t* xq = kx_qs(x);
    const __m256i qh = load32(w.qh);
    __m256i isum = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load32(w.q4.qs + 32 * j);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, mask), byte_bit(qh, 2 * j, 4));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), mask), byte_bit(qh, 2 * j + 1, 4));
      const __m256i p_lo = _mm256_maddubs_epi16(lo, load32(xq + 64 * j));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, load32(xq + 64 * j + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(w.q4.scale[2 * j])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(w.q4.scale[2 * j + 1])));
    }
    const __m256i msum = _mm256_madd_epi16(kx_bsums(x), w.q4.mins);
    k_accumulate_with_mins(acc, w.q4.d, w.q4.dmin, x.d, isum, msum);
  }
};

// ---- Q6_K ------------------------------------------------------------------

struct Q6KW {
  const uint8_t* ql;  // 128 bytes
  const uint8_t* qh;  // 64 bytes
  const int8_t* scales;  // 16, one per 16 elements
  __m256i scales16;   // the same as 16 x s16
  float d;
};

struct Q6_KKernel : KBase {
  using W = Q6KW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ6_K);
    W w;
    w.ql = p + offsetof(BlockQ6_K, ql);
    w.qh = p + offsetof(BlockQ6_K, qh);
    w.scales = reinterpret_cast<const int8_t*>(p + offsetof(BlockQ6_K, scales));
    w.scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
    w.d = half_to_float(p + offsetof(BlockQ6_K, d));
    return w;
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i mask4 = _mm256_set1_epi8(0x0F), mask_hi = _mm256_set1_epi8(0x30);
    const int8_t* xq = kx_qs(x);
    __m256i isum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load32(w.ql + 64 * half), ql1 = load32(w.ql + 64 * half + 32);
      const __m256i qh = load32(w.qh + 32 * half);
      const int8_t* sc = w.scales + 8 * half;
      const int8_t* xh = xq + 128 * half;
      // Elements [0,32), [32,64), [64,96), [96,128) of this half, unsigned 0..63.
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, mask4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), mask_hi));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, mask4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), mask_hi));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), mask4), _mm256_and_si256(qh, mask_hi));
      const __m256i q3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), mask4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), mask_hi));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q0, load32(xh)), pair_scales(sc[0], sc[1])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q1, load32(xh + 32)), pair_scales(sc[2], sc[3])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q2, load32(xh + 64)), pair_scales(sc[4], sc[5])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q3, load32(xh + 96)), pair_scales(sc[6], sc[7])));
    }
    // The stored values are q - 32: subtract 32 * sum_g scale_g * bsum_g, exactly.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(kx_bsums(x), w.scales16), 5);
    isum = _mm256_sub_epi32(isum, offset);
    k_accumulate(acc, w.d, x.d, isum);
  }
};

}  // namespace

MatmulKernel avx2_k_quant_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_K: return gemm<Q4_KKernel>;
    case GgmlType::Q5_K: return gemm<Q5_KKernel>;
    case GgmlType::Q6_K: return gemm<Q6_KKernel>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

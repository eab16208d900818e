// AVX2 kernels for the 2- and 3-bit k-quants (Q2_K, Q3_K) and IQ4_XS against
// ActBlockQ8K (k_quant_avx2.h has the arithmetic they share).
//
// Q2_K and Q3_K store their low 2 bits alike: 32 bytes of qs hold elements
// 128 h + [0, 128) as four bit pairs, pair j giving elements 128 h + 32 j + l,
// two 16-element sub-blocks with their own scales. Q2_K's mins and Q3_K's -4
// (a clear hmask bit) enter through the activation's 16-element sums.
// IQ4_XS nibbles index kIq4nlValues with one table shuffle; the signed values
// go through maddubs as |w| and sign(x, w), exact as no pair exceeds 2 * 127 * 127.
#include <immintrin.h>

#include "kernels/cpu/gemm_tiles_avx2.h"
#include "kernels/cpu/k_quant_avx2.h"
#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

// ---- Q2_K ------------------------------------------------------------------

struct Q2KW {
  const uint8_t* qs;  // 64 bytes
  int16_t scale[16];  // 4-bit scale of each 16-element sub-block
  __m256i mins;       // 16 x s16: 4-bit min of each sub-block
  float d;
  float dmin;
};

struct Q2_KKernel : KBase {
  using W = Q2KW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ2_K);
    W w;
    w.qs = p + offsetof(BlockQ2_K, qs);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(BlockQ2_K, scales)));
    const __m256i wide = _mm256_cvtepu8_epi16(packed);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w.scale), _mm256_and_si256(wide, _mm256_set1_epi16(0xF)));
    w.mins = _mm256_srli_epi16(wide, 4);
    w.d = half_to_float(p + offsetof(BlockQ2_K, d));
    w.dmin = half_to_float(p + offsetof(BlockQ2_K, dmin));
    return w;
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i three = _mm256_set1_epi8(3);
    const int8_t* xq = kx_qs(x);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(w.qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), three);
        const int g = 8 * h + 2 * j;
        const __m256i p = _mm256_maddubs_epi16(v, load32(xq + 128 * h + 32 * j));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(w.scale[g], w.scale[g + 1])));
      }
    }
    const __m256i msum = _mm256_madd_epi16(kx_bsums(x), w.mins);
    k_accumulate_with_mins(acc, w.d, w.dmin, x.d, isum, msum);
  }
};

// ---- Q3_K ------------------------------------------------------------------

struct Q3KW {
  const uint8_t* qs;     // 64 bytes
  const uint8_t* hmask;  // 32 bytes: bit 4 h + j of byte l belongs to element 128 h + 32 j + l
  int16_t scale[16];     // signed, -32..31
  __m256i scales16;      // the same
  float d;
};

struct Q3_KKernel : KBase {
  using W = Q3KW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ3_K);
    W w;
    w.qs = p + offsetof(BlockQ3_K, qs);
    w.hmask = p + offsetof(BlockQ3_K, hmask);
    int scales[16];
    q3_k_scales(p + offsetof(BlockQ3_K, scales), scales);
    for (int i = 0; i < 16; ++i) w.scale[i] = static_cast<int16_t>(scales[i]);
    w.scales16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.scale));
    w.d = half_to_float(p + offsetof(BlockQ3_K, d));
    return w;
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i three = _mm256_set1_epi8(3);
    const int8_t* xq = kx_qs(x);
    const __m256i hm = load32(w.hmask);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(w.qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        // The stored value plus 4, 0..7: the low bits with the hmask bit as bit 2.
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), three);
        const __m256i v = _mm256_or_si256(low, byte_bit(hm, 4 * h + j, 2));
        const int g = 8 * h + 2 * j;
        const __m256i p = _mm256_maddubs_epi16(v, load32(xq + 128 * h + 32 * j));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(w.scale[g], w.scale[g + 1])));
      }
    }
    // Subtract 4 * sum_g scale_g * bsum_g, exactly.
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(_mm256_madd_epi16(kx_bsums(x), w.scales16), 2));
    k_accumulate(acc, w.d, x.d, isum);
  }
};

// ---- IQ4_XS ----------------------------------------------------------------

struct IQ4XSW {
  const uint8_t* qs;  // 128 bytes: 8 sub-blocks of 16 bytes, low nibbles = elements 0..15, high = 16..31
  int16_t scale[8];   // signed, -32..31
  float d;
};

struct IQ4_XSKernel : KBase {
  using W = IQ4XSW;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockIQ4_XS);
    W w;
    w.qs = p + offsetof(BlockIQ4_XS, qs);
    uint16_t scales_h;
    __builtin_memcpy(&scales_h, p + offsetof(BlockIQ4_XS, scales_h), sizeof scales_h);
    for (int ib = 0; ib < 8; ++ib) {
      w.scale[ib] = static_cast<int16_t>(iq4_xs_scale(p + offsetof(BlockIQ4_XS, scales_l), scales_h, ib));
    }
    w.d = half_to_float(p + offsetof(BlockIQ4_XS, d));
    return w;
  }
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const int8_t* xq = kx_qs(x);
    __m256i isum = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs + 16 * ib));
      const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), _mm_and_si128(packed, mask));
      const __m256i v = _mm256_shuffle_epi8(table, idx);
      const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(load32(xq + 32 * ib), v));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16(w.scale[ib])));
    }
    k_accumulate(acc, w.d, x.d, isum);
  }
};

}  // namespace

MatmulKernel avx2_low_bit_k_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K: return gemm<Q2_KKernel>;
    case GgmlType::Q3_K: return gemm<Q3_KKernel>;
    case GgmlType::IQ4_XS: return gemm<IQ4_XSKernel>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

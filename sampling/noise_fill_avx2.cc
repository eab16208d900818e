// Compiled with -mavx2 (see CMakeLists.txt); called only when the CPU has AVX2.
// Eight Philox blocks per iteration, one per 32-bit lane of each counter word.
#include <immintrin.h>

#include "sampling/noise_fill.h"

namespace nucleus::sampling::detail {
namespace {

// Full 32x32 -> 64-bit products of the 8 lanes of a by m, split into low and high halves.
inline void mul_hi_lo(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

}  // namespace

void fill_noise_words_avx2(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out) {
  const __m256i mul0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i mul1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  const __m256i lane_offsets = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(first_block + static_cast<uint32_t>(b))),
                                  lane_offsets);
    __m256i c1 = _mm256_set1_epi32(static_cast<int>(key.position));
    __m256i c2 = _mm256_set1_epi32(static_cast<int>(key.seq_index));
    __m256i c3 = _mm256_set1_epi32(static_cast<int>(key.stream));
    uint32_t k0 = static_cast<uint32_t>(key.seed), k1 = static_cast<uint32_t>(key.seed >> 32);
    for (int round = 0; round < 10; ++round) {
      __m256i hi0, lo0, hi1, lo1;
      mul_hi_lo(c0, mul0, hi0, lo0);
      mul_hi_lo(c2, mul1, hi1, lo1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
      c1 = lo1;
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    // Transpose [word][block] to [block][word]: out[4 * block + word].
    const __m256i t0 = _mm256_unpacklo_epi32(c0, c1);  // b0w0 b0w1 b1w0 b1w1 | b4.. b5..
    const __m256i t1 = _mm256_unpackhi_epi32(c0, c1);  // b2w0 b2w1 b3w0 b3w1 | b6.. b7..
    const __m256i t2 = _mm256_unpacklo_epi32(c2, c3);
    const __m256i t3 = _mm256_unpackhi_epi32(c2, c3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // b0 | b4
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // b1 | b5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // b2 | b6
    const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // b3 | b7
    __m256i* o = reinterpret_cast<__m256i*>(out + 4 * b);
    _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(u0, u1, 0x20));  // b0 b1
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(u2, u3, 0x20));  // b2 b3
    _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(u0, u1, 0x31));  // b4 b5
    _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(u2, u3, 0x31));  // b6 b7
  }
  if (b < blocks) fill_noise_words_lanes(key, first_block + static_cast<uint32_t>(b), blocks - b, out + 4 * b);
}

}  // namespace nucleus::sampling::detail

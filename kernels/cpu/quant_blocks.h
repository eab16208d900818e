// Small helpers to read weight blocks, shared by the scalar and AVX2 kernels.
// Header-only and trivially inlined; kept free of library templates so that
// including it from an *_avx2.cc file cannot leak AVX2 code into shared
// out-of-line definitions.
#pragma once

#include <cstdint>
#include <cstring>

namespace nucleus::kernels::cpu {

template <typename Block>
inline Block load_block(const uint8_t* src) {
  Block block;
  std::memcpy(&block, src, sizeof block);
  return block;
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K super-block.
inline void q4_k_scale_min(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The 16 signed 6-bit scales of a Q3_K super-block (-32..31): low 4 bits in
// bytes 0..7 (sub-block i < 8 in the low nibble of byte i, i >= 8 in the high
// nibble of byte i - 8), high 2 bits in bytes 8..11 (bits 2 * (i / 4) of
// byte 8 + i % 4); stored + 32.
inline void q3_k_scales(const uint8_t* packed, int* scales) {
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = (low | (high << 4)) - 32;
  }
}

// The signed 6-bit scale of sub-block ib (0..7) of an IQ4_XS super-block (-32..31).
inline int iq4_xs_scale(const uint8_t* scales_l, uint16_t scales_h, int ib) {
  const int low = (scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
  const int high = (scales_h >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace nucleus::kernels::cpu

// Small helpers to read weight blocks, shared by the scalar and AVX2 kernels.
// Header-only and trivially inlined; kept free of library templates so that
// including it from an *_avx2.cc file cannot leak AVX2 code into shared
// out-of-line definitions.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/ggml_types.h"

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

}  // namespace nucleus::kernels::cpu

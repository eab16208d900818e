// Per-element math of the CUDA ops, written once for host and device
// (NUCLEUS_HD) so the CPU tests check the very formulas the kernels run.
#pragma once

#include <math.h>

#include <cstdint>

#include "kernels/fp16.h"  // NUCLEUS_HD

namespace nucleus::kernels::cuda {

// silu(g) * u, as kernels/cpu/elementwise_cpu.cc computes it.
NUCLEUS_HD inline float silu_mul(float g, float u) { return g / (1.0f + expf(-g)) * u; }

// 1 / sqrt(mean + eps) from a sum of squares in double, rounded once to float.
NUCLEUS_HD inline float rms_scale(double sum_squares, int64_t n, float eps) {
  return static_cast<float>(1.0 / sqrt(sum_squares / static_cast<double>(n) + static_cast<double>(eps)));
}

// Element offsets (within a head) of rotated pair i: kNormal (2i, 2i+1), kNeox (i, i + rot_dim/2).
NUCLEUS_HD inline void rope_pair(bool neox, int i, int half, int* a, int* b) {
  *a = neox ? i : 2 * i;
  *b = neox ? i + half : 2 * i + 1;
}

// The angle of pair i at a position, in double: pos * freq_scale * base^(-2i / rot_dim).
NUCLEUS_HD inline double rope_theta(int32_t position, float freq_scale, float freq_base, int i, int rot_dim) {
  const double inv_freq = pow(static_cast<double>(freq_base), -2.0 * i / static_cast<double>(rot_dim));
  return static_cast<double>(position) * static_cast<double>(freq_scale) * inv_freq;
}

// Slot of key j of a sequence through its block table.
NUCLEUS_HD inline int64_t kv_slot(const int32_t* block_table, int block_size, int j) {
  return static_cast<int64_t>(block_table[j / block_size]) * block_size + j % block_size;
}

// fp16's largest finite value: GEMM inputs above it would become inf.
inline constexpr float kFp16Max = 65504.0f;

// The activation scale of one GEMM input row, as a power of two 2^-k: the
// smallest k >= 0 with amax * 2^-k <= kFp16Max, where amax is the row's
// largest |value|. A row within fp16's range keeps k = 0 (its fp16 values and
// products are exactly the unscaled ones); a larger row (down_proj inputs of
// Qwen2.5 or Llama 2 class models reach 1e5) is divided by 2^k before the
// rounding to fp16 and its GEMM output multiplied by 2^k after. Both are exact
// in binary, so only values below fp16's normal range (2^-14 * 2^k) lose bits.
// A row holding inf or NaN keeps k = 0: the GEMM then gives inf/NaN, as the CPU.
NUCLEUS_HD inline int fp16_scale_exponent(float amax) {
  if (!(amax <= 3.402823466e38f)) return 0;
  int k = 0;
  while (amax > kFp16Max) {
    amax *= 0.5f;
    ++k;
  }
  return k;
}

}  // namespace nucleus::kernels::cuda

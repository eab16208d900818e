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

}  // namespace nucleus::kernels::cuda

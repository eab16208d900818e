// Per-path elementwise kernels over n contiguous floats.
#pragma once

#include <cstdint>

namespace nucleus::kernels::cpu {

// out[i] = silu(gate[i]) * up[i]
void swiglu_scalar(const float* gate, const float* up, int64_t n, float* out);
void swiglu_avx2(const float* gate, const float* up, int64_t n, float* out);  // only when avx2_enabled()

}  // namespace nucleus::kernels::cpu

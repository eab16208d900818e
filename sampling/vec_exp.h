// y[i] = exp(x[i]) over an array: the softmax numerators of the sampler's
// filters. One ~2-ulp polynomial (kernels/cpu/vec_math_avx2.h) on every path:
// AVX2 when enabled, its scalar twin (vec_math_scalar.h) otherwise, bitwise
// equal, so seeded draws are the same on every CPU. x < -87 gives exactly 0.
#pragma once

#include <cstdint>

namespace nucleus::sampling {

void exp_array(const float* x, float* y, int64_t n);

// The AVX2 body; call only through exp_array.
void exp_array_avx2(const float* x, float* y, int64_t n);

}  // namespace nucleus::sampling

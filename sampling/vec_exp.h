// y[i] = exp(x[i]) over an array: the softmax numerators of the sampler's
// filters. AVX2 (a ~2-ulp polynomial, kernels/cpu/vec_math_avx2.h) when the
// CPU has it, std::exp otherwise; the path depends only on the machine, never
// on the batch, so seeded draws stay reproducible on one machine.
#pragma once

#include <cstdint>

namespace nucleus::sampling {

void exp_array(const float* x, float* y, int64_t n);

// The AVX2 body; call only through exp_array.
void exp_array_avx2(const float* x, float* y, int64_t n);

}  // namespace nucleus::sampling

#include "sampling/vec_exp.h"

#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/vec_math_scalar.h"

namespace nucleus::sampling {

void exp_array(const float* x, float* y, int64_t n) {
  // avx2_enabled() (not only the CPU's support), so NUCLEUS_NO_AVX2=1 and
  // the tests' scalar switch reach this path too.
  const bool avx2 = kernels::cpu::avx2_enabled();
  if (avx2) {
    exp_array_avx2(x, y, n);
    return;
  }
  // The AVX2 body's polynomial and underflow, element by element: both paths
  // give bitwise the same numerators, so a seeded draw is the same on any CPU.
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < -87.0f ? 0.0f : kernels::cpu::exp_poly(x[i]);
}

}  // namespace nucleus::sampling

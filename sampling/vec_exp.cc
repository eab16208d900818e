#include "sampling/vec_exp.h"

#include <cmath>

#include "kernels/cpu/cpu_features.h"

namespace nucleus::sampling {

void exp_array(const float* x, float* y, int64_t n) {
  static const bool avx2 = kernels::cpu::cpu_has_avx2();
  if (avx2) {
    exp_array_avx2(x, y, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace nucleus::sampling

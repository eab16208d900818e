// Compiled with AVX2/FMA; reached only through exp_array after a CPU check.
#include "kernels/cpu/vec_math_avx2.h"
#include "sampling/vec_exp.h"

namespace nucleus::sampling {

namespace {
// exp256 clamps its input at -87 (exp = 1.6e-38); below that the sampler wants
// a true 0, so a hopeless candidate keeps exactly no probability mass.
__m256 exp_or_zero(__m256 v) {
  const __m256 underflow = _mm256_cmp_ps(v, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
  return _mm256_andnot_ps(underflow, kernels::cpu::exp256(v));
}
}  // namespace

void exp_array_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_or_zero(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail through the same polynomial, so every element gets the same rounding
    float in[8] = {0}, out[8];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm256_storeu_ps(out, exp_or_zero(_mm256_loadu_ps(in)));
    for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
  }
}

}  // namespace nucleus::sampling

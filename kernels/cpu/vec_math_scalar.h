// Scalar twins of the vector helpers in vec_math_avx2.h: the same float
// operations in the same order, so a scalar path gives bitwise the results of
// the AVX2 path (cross-ISA determinism, see cpu_features.h). The project is
// compiled with -ffp-contract=off: every fused multiply-add here is an
// explicit std::fma, matching the vector code's _mm256_fmadd_ps.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace nucleus::kernels::cpu {

// exp(x), the Cephes-style polynomial of exp256() operation for operation.
inline float exp_poly(float x) {
  x = std::fmin(std::fmax(x, -87.0f), 88.0f);
  // nearbyint rounds half to even under the default rounding mode, as
  // _MM_FROUND_TO_NEAREST_INT does.
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = std::fma(-n, 0.693359375f, x);
  r = std::fma(-n, -2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r + 1.0f);
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// The sum of 8 lanes in hsum()'s tree: (0+4, 1+5, 2+6, 3+7), then
// (a+c, b+d), then the last pair.
inline float hsum8(const float lanes[8]) {
  const float s0 = lanes[0] + lanes[4], s1 = lanes[1] + lanes[5];
  const float s2 = lanes[2] + lanes[6], s3 = lanes[3] + lanes[7];
  const float t0 = s0 + s2, t1 = s1 + s3;
  return t0 + t1;
}

}  // namespace nucleus::kernels::cpu

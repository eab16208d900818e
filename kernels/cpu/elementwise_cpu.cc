// SwiGLU, GeGLU, scaling, soft-capping and residual add: elementwise, so any split over the pool is invariant.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/elementwise_kernels.h"
#include "kernels/cpu/vec_math_scalar.h"

namespace nucleus::kernels::cpu {
namespace {

// Elements per parallel chunk: below this a thread hand-off costs more than it saves.
constexpr int64_t kElementGrain = 16384;

}  // namespace

// The operations of swiglu_avx2 per element, exp by the same polynomial, so
// both paths give bitwise the same outputs.
void swiglu_scalar(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + exp_poly(0.0f - g)) * up[i];
  }
}

void swiglu_cpu(ThreadPool& pool, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  const auto fn = avx2_enabled() ? swiglu_avx2 : swiglu_scalar;
  pool.parallel_for(T * n, kElementGrain, [&](int64_t i0, int64_t i1) { fn(gate + i0, up + i0, i1 - i0, out + i0); });
}

void geglu_cpu(ThreadPool& pool, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  // tanh form of GELU, as Gemma was trained with and ggml computes it (in float).
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  constexpr float kCubic = 0.044715f;
  pool.parallel_for(T * n, kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float g = gate[i];
      out[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * g * (1.0f + kCubic * g * g))) * up[i];
    }
  });
}

void scale_inplace_cpu(ThreadPool& pool, float* y, float s, int64_t n) {
  pool.parallel_for(n, 4 * kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] *= s;
  });
}

void softcap_inplace_cpu(ThreadPool& pool, float* y, float cap, int64_t n) {
  const float inv = 1.0f / cap;
  pool.parallel_for(n, kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = cap * std::tanh(y[i] * inv);
  });
}

void add_inplace_cpu(ThreadPool& pool, float* y, const float* x, int64_t n) {
  pool.parallel_for(n, 4 * kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] += x[i];
  });
}

}  // namespace nucleus::kernels::cpu

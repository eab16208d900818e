// RMSNorm and RoPE. Both are per token row, so any split over rows is invariant.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace nucleus::kernels::cpu {
namespace {

// Sum of squares in double with four interleaved partial sums (fixed order):
// accurate to far below float precision and four times shorter in latency
// than one running sum.
double sum_of_squares(const float* x, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += static_cast<double>(x[i]) * x[i];
    s1 += static_cast<double>(x[i + 1]) * x[i + 1];
    s2 += static_cast<double>(x[i + 2]) * x[i + 2];
    s3 += static_cast<double>(x[i + 3]) * x[i + 3];
  }
  for (; i < n; ++i) s0 += static_cast<double>(x[i]) * x[i];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

void rms_norm_cpu(ThreadPool& pool, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out) {
  pool.parallel_for(T, std::max<int64_t>(1, 16384 / n), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + t * n;
      float* ot = out + t * n;
      const double mean = sum_of_squares(xt, n) / static_cast<double>(n);
      const float scale = static_cast<float>(1.0 / std::sqrt(mean + static_cast<double>(eps)));
      for (int64_t i = 0; i < n; ++i) ot[i] = xt[i] * scale * weight[i];
    }
  });
}

namespace {

// ggml's YaRN correction range [low, high] of pair indices, computed in float as ggml does
// (the floor/ceil must land on the same integers).
void yarn_corr_dims(const RopeParams& p, float dims[2]) {
  const auto corr_dim = [&](float n_rot) {
    return static_cast<float>(p.rot_dim) *
           std::log(static_cast<float>(p.yarn_original_context) / (n_rot * 2.0f * static_cast<float>(M_PI))) /
           (2.0f * std::log(p.freq_base));
  };
  dims[0] = std::max(0.0f, std::floor(corr_dim(p.yarn_beta_fast)));
  dims[1] = std::min(static_cast<float>(p.rot_dim - 1), std::ceil(corr_dim(p.yarn_beta_slow)));
}

}  // namespace

void rope_cpu(ThreadPool& pool, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& p) {
  const int half = p.rot_dim / 2;
  // theta_i = pos * freq_base^(-2i / rot_dim) / freq_factors[i] * s_i, in double
  // so the angle of a large position keeps its precision, where s_i is
  // freq_scale (linear scaling) or YaRN's mix of freq_scale and 1; cos/sin
  // (times the attention factor) rounded once to float.
  std::vector<double> inv_freq(static_cast<size_t>(half));
  float corr[2] = {0.0f, 0.0f};
  const bool yarn = p.yarn_ext_factor != 0.0f;
  if (yarn) yarn_corr_dims(p, corr);
  for (int i = 0; i < half; ++i) {
    inv_freq[i] = std::pow(static_cast<double>(p.freq_base), -2.0 * i / static_cast<double>(p.rot_dim));
    if (p.freq_factors != nullptr) inv_freq[i] /= static_cast<double>(p.freq_factors[i]);
    double s = p.freq_scale;
    if (yarn) {
      const float y = (static_cast<float>(i) - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
      const double mix = (1.0 - std::min(1.0f, std::max(0.0f, y))) * static_cast<double>(p.yarn_ext_factor);
      s = s * (1.0 - mix) + mix;
    }
    inv_freq[i] *= s;
  }
  double mscale = static_cast<double>(p.attn_factor);
  if (yarn) mscale *= 1.0 + 0.1 * std::log(1.0 / static_cast<double>(p.freq_scale));
  const int64_t row = static_cast<int64_t>(n_heads) * p.head_dim;
  pool.parallel_for(T, std::max<int64_t>(1, 4096 / std::max<int64_t>(row, 1)), [&](int64_t t0, int64_t t1) {
    std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
    for (int64_t t = t0; t < t1; ++t) {
      const double pos = static_cast<double>(positions[t]);
      for (int i = 0; i < half; ++i) {
        const double theta = pos * inv_freq[i];
        cos_t[i] = static_cast<float>(std::cos(theta) * mscale);
        sin_t[i] = static_cast<float>(std::sin(theta) * mscale);
      }
      for (int h = 0; h < n_heads; ++h) {
        float* xh = x + t * row + static_cast<int64_t>(h) * p.head_dim;
        for (int i = 0; i < half; ++i) {
          // kNormal pairs (2i, 2i+1); kNeox pairs (i, i + rot_dim/2). Dims >= rot_dim stay as they are.
          float* a = p.style == RopeStyle::kNormal ? xh + 2 * i : xh + i;
          float* b = p.style == RopeStyle::kNormal ? xh + 2 * i + 1 : xh + i + half;
          const float x0 = *a, x1 = *b;
          *a = x0 * cos_t[i] - x1 * sin_t[i];
          *b = x0 * sin_t[i] + x1 * cos_t[i];
        }
      }
    }
  });
}

}  // namespace nucleus::kernels::cpu

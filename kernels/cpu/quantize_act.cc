// Every matmul path uses these exact blocks (quantize_row_q8_avx2 computes the
// same bits), so the paths differ only in float summation order.
#include "kernels/cpu/quantize_act.h"

#include <cmath>

#include "kernels/cpu/cpu_features.h"

namespace nucleus::kernels::cpu {
namespace {

// Quantizes n floats with one scale; returns the scale and fills q.
float quantize_block(const float* x, int n, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < n; ++i) {
    // |x * id| <= 127 up to rounding of id; clamp keeps a one-ulp overshoot in range.
    const float v = std::nearbyint(x[i] * id);
    q[i] = static_cast<int8_t>(std::fmax(-127.0f, std::fmin(127.0f, v)));
  }
  return d;
}

}  // namespace

ActFormat act_format(GgmlType weight_type) {
  switch (weight_type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::IQ4_NL:
      return ActFormat::kQ8;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_XS:
      return ActFormat::kQ8K;
    default:
      return ActFormat::kFloat;
  }
}

size_t act_row_bytes(ActFormat format, int64_t n) {
  switch (format) {
    case ActFormat::kQ8:
      return static_cast<size_t>(n / kQK) * sizeof(ActBlockQ8);
    case ActFormat::kQ8K:
      return static_cast<size_t>(n / kQK_K) * sizeof(ActBlockQ8K);
    case ActFormat::kFloat:
      break;
  }
  return static_cast<size_t>(n) * sizeof(float);
}

void quantize_row_q8(const float* x, int64_t n, ActBlockQ8* out) {
  if (avx2_enabled()) return quantize_row_q8_avx2(x, n, out);
  quantize_row_q8_scalar(x, n, out);
}

void quantize_row_q8_scalar(const float* x, int64_t n, ActBlockQ8* out) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    ActBlockQ8& block = out[b];
    const float d = quantize_block(x, kQK, block.qs);
    int sum = 0;
    for (int i = 0; i < kQK; ++i) sum += block.qs[i];
    block.d = fp16_rounded(d);
    block.s = fp16_rounded(d * static_cast<float>(sum));
    block.sum = sum;
  }
}

void quantize_row_q8k(const float* x, int64_t n, ActBlockQ8K* out) {
  if (avx2_enabled()) return quantize_row_q8k_avx2(x, n, out);
  quantize_row_q8k_scalar(x, n, out);
}

void quantize_row_q8k_scalar(const float* x, int64_t n, ActBlockQ8K* out) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    ActBlockQ8K& block = out[b];
    block.d = quantize_block(x, kQK_K, block.qs);
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += block.qs[16 * g + i];
      block.bsums[g] = static_cast<int16_t>(sum);
    }
    for (int j = 0; j < kQK_K / 32; ++j) {
      block.sums32[j] = static_cast<int16_t>(block.bsums[2 * j] + block.bsums[2 * j + 1]);
    }
  }
}

}  // namespace nucleus::kernels::cpu

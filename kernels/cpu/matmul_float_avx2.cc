// AVX2 kernels for float weights (F32, F16, BF16) against float activations:
// 8-element blocks, one FMA per block into 8 lanes, the cols % 8 tail added
// after the horizontal sum with scalar FMAs in order.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/gemm_tiles_avx2.h"

namespace nucleus::kernels::cpu {
namespace {

struct FloatX {
  __m256 v;
};

template <class Derived>
struct FloatKernelBase {
  static constexpr int kMR = 4;
  static constexpr int kNR = 3;  // 12 accumulators + 3 weight vectors fit the 16 registers
  static constexpr int kDecodeNR = 1;  // see gemm(): one sequential weight stream decodes fastest
  using X = FloatX;
  static int64_t blocks(int64_t cols) { return cols / 8; }
  static X load_x(const uint8_t* x_row, int64_t b) { return {_mm256_loadu_ps(reinterpret_cast<const float*>(x_row) + 8 * b)}; }
  static void step(const __m256& w, const X& x, __m256& acc, float&) { acc = _mm256_fmadd_ps(w, x.v, acc); }
  static float finish(__m256 acc, float, const uint8_t* w_row, const uint8_t* x_row, int64_t cols) {
    float sum = hsum(acc);
    const float* x = reinterpret_cast<const float*>(x_row);
    for (int64_t k = cols / 8 * 8; k < cols; ++k) sum = std::fma(Derived::element(w_row, k), x[k], sum);
    return sum;
  }
};

struct F32Kernel : FloatKernelBase<F32Kernel> {
  using W = __m256;
  static W load_w(const uint8_t* w_row, int64_t b) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w_row) + 8 * b); }
  static float element(const uint8_t* w_row, int64_t k) {
    float v;
    __builtin_memcpy(&v, w_row + 4 * k, sizeof v);
    return v;
  }
};

struct F16Kernel : FloatKernelBase<F16Kernel> {
  using W = __m256;
  static W load_w(const uint8_t* w_row, int64_t b) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w_row + 16 * b)));
  }
  static float element(const uint8_t* w_row, int64_t k) { return half_to_float(w_row + 2 * k); }
};

struct BF16Kernel : FloatKernelBase<BF16Kernel> {
  using W = __m256;
  static W load_w(const uint8_t* w_row, int64_t b) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w_row + 16 * b)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float element(const uint8_t* w_row, int64_t k) {
    uint16_t h;
    __builtin_memcpy(&h, w_row + 2 * k, sizeof h);
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float v;
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
  }
};

}  // namespace

MatmulKernel avx2_float_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return gemm<F32Kernel>;
    case GgmlType::F16: return gemm<F16Kernel>;
    case GgmlType::BF16: return gemm<BF16Kernel>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

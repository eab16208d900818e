// Random inputs for the kernel tests: float data and weight matrices of every
// type. Quantized weights are random bytes (every bit pattern of a quant is a
// valid value) with their fp16 scales overwritten by sane magnitudes, so the
// tests need no quantizer; the reference dequantizes them with dequantize_row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/fp16.h"
#include "kernels/ggml_types.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/packed_weight.h"

namespace nucleus::test {

inline std::vector<float> random_floats(std::mt19937& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

// A weight matrix and its storage.
struct RandomWeights {
  std::vector<uint8_t> bytes;
  kernels::WeightView view;
  std::vector<float> dequantized;  // [rows, cols] via dequantize_row
  kernels::PackedWeight packed;    // filled by view_for(kAvx512Packed, ...)
  kernels::PackedWeight packed_avx2;  // filled by view_for(kAvx2Packed, ...): AVX2's packed types only
};

inline void put_fp16(uint8_t* p, float v) {
  const uint16_t h = float_to_fp16(v);
  std::memcpy(p, &h, sizeof h);
}

inline RandomWeights random_weights(std::mt19937& rng, GgmlType type, int64_t rows, int64_t cols) {
  RandomWeights w;
  const size_t row_bytes = ggml_row_size(type, cols);
  w.bytes.resize(row_bytes * static_cast<size_t>(rows));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.002f, 0.02f), signed_val(-1.0f, 1.0f), min(-0.15f, 0.05f);
  if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      const float v = signed_val(rng);
      uint8_t* p = w.bytes.data();
      if (type == GgmlType::F32) {
        std::memcpy(p + 4 * i, &v, 4);
      } else {
        const uint16_t h = type == GgmlType::F16 ? float_to_fp16(v) : float_to_bf16(v);
        std::memcpy(p + 2 * i, &h, 2);
      }
    }
  } else {
    for (uint8_t& b : w.bytes) b = static_cast<uint8_t>(byte(rng));
    const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
    const size_t nblocks = w.bytes.size() / traits.type_size;
    for (size_t b = 0; b < nblocks; ++b) {
      uint8_t* p = w.bytes.data() + b * traits.type_size;
      switch (type) {
        case GgmlType::Q4_1:
        case GgmlType::Q5_1:
          put_fp16(p + 2, min(rng));
          [[fallthrough]];
        case GgmlType::Q4_0:
        case GgmlType::Q5_0:
          put_fp16(p, scale(rng) * 8.0f);
          break;
        case GgmlType::Q8_0:
          put_fp16(p, scale(rng) / 2.0f);
          break;
        case GgmlType::Q4_K:
          put_fp16(p, scale(rng) / 4.0f);
          put_fp16(p + 2, scale(rng) / 8.0f);
          break;
        case GgmlType::Q6_K:
          put_fp16(p + sizeof(BlockQ6_K) - 2, scale(rng) / 32.0f);
          break;
        case GgmlType::Q2_K:
          put_fp16(p + offsetof(BlockQ2_K, d), scale(rng) / 4.0f);
          put_fp16(p + offsetof(BlockQ2_K, dmin), scale(rng) / 8.0f);
          break;
        case GgmlType::Q3_K:
          put_fp16(p + offsetof(BlockQ3_K, d), scale(rng) / 16.0f);
          break;
        case GgmlType::Q5_K:
          put_fp16(p, scale(rng) / 32.0f);
          put_fp16(p + 2, scale(rng) / 8.0f);
          break;
        case GgmlType::IQ4_NL:
          put_fp16(p, scale(rng) / 2.0f);
          break;
        case GgmlType::IQ4_XS:
          put_fp16(p, scale(rng) / 64.0f);
          break;
        default:
          break;
      }
    }
  }
  w.view = kernels::WeightView{type, w.bytes.data(), rows, cols, row_bytes};
  w.dequantized.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, w.bytes.data() + r * row_bytes, w.dequantized.data() + r * cols, cols);
  }
  return w;
}

inline const std::vector<GgmlType>& all_weight_types() {
  static const std::vector<GgmlType> types = {
      GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,   GgmlType::Q4_0,
      GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL, GgmlType::Q2_K,
      GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,   GgmlType::IQ4_XS};
  return types;
}

inline bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

inline int block_size_of(GgmlType t) { return ggml_type_traits(static_cast<uint32_t>(t))->block_size; }

inline bool bitwise_equal(const float* a, const float* b, int64_t n) {
  return std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)) == 0;
}

// Forces the scalar kernels for its lifetime (or not), restoring the default after.
struct ScalarPath {
  explicit ScalarPath(bool force) { kernels::cpu::force_scalar_kernels(force); }
  ~ScalarPath() { kernels::cpu::force_scalar_kernels(false); }
};

// The kernel paths a test should cover: AVX2 (when the CPU has it), then scalar (true = forced scalar).
inline std::vector<bool> kernel_paths() {
  std::vector<bool> p = {true};
  if (kernels::cpu::cpu_has_avx2()) p.insert(p.begin(), false);
  return p;
}

// The matmul kernel paths: AVX-512 (VNNI kernels for Q4_0 / Q4_1, AVX2 for
// the rest), AVX-512 with weights prepacked (packed_weight.h: every quantized
// type), AVX2 only, scalar only.
enum class KernelPath { kAvx512, kAvx512Packed, kAvx2, kAvx2Packed, kScalar };

inline const char* path_name(KernelPath p) {
  switch (p) {
    case KernelPath::kAvx512: return "avx512";
    case KernelPath::kAvx512Packed: return "avx512-packed";
    case KernelPath::kAvx2: return "avx2";
    case KernelPath::kAvx2Packed: return "avx2-packed";
    case KernelPath::kScalar: return "scalar";
  }
  return "?";
}

// Forces a kernel path for its lifetime, restoring the default after.
struct PathGuard {
  explicit PathGuard(KernelPath p) {
    kernels::cpu::force_scalar_kernels(p == KernelPath::kScalar);
    kernels::cpu::force_no_avx512(p != KernelPath::kAvx512 && p != KernelPath::kAvx512Packed);
  }
  ~PathGuard() {
    kernels::cpu::force_scalar_kernels(false);
    kernels::cpu::force_no_avx512(false);
  }
  PathGuard(const PathGuard&) = delete;
  PathGuard& operator=(const PathGuard&) = delete;
};

// The paths this CPU can run, fastest first.
inline std::vector<KernelPath> matmul_paths() {
  std::vector<KernelPath> p;
  if (kernels::cpu::cpu_has_avx512()) {
    p.push_back(KernelPath::kAvx512);
    p.push_back(KernelPath::kAvx512Packed);
  }
  if (kernels::cpu::cpu_has_avx2()) {
    p.push_back(KernelPath::kAvx2);
    p.push_back(KernelPath::kAvx2Packed);
  }
  p.push_back(KernelPath::kScalar);
  return p;
}

// The view of w that path p's matmul takes: on kAvx512Packed (kAvx2Packed),
// w repacked once into w.packed (w.packed_avx2) for the types that path has a
// packed kernel for; the others as stored. Call with p's PathGuard in place:
// the packer packs for the path that is enabled.
inline kernels::WeightView view_for(KernelPath p, RandomWeights& w) {
  if (p != KernelPath::kAvx512Packed && p != KernelPath::kAvx2Packed) return w.view;
  kernels::PackedWeight& packed = p == KernelPath::kAvx512Packed ? w.packed : w.packed_avx2;
  if (packed.empty()) {
    static kernels::ThreadPool pool(2);
    packed = kernels::pack_weight_cpu(pool, w.view);
  }
  kernels::WeightView v = w.view;
  v.cpu_packed = packed.empty() ? nullptr : packed.data();
  return v;
}

}  // namespace nucleus::test

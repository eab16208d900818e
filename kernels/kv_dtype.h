// How the KV cache stores each key and value: float32, float16, or ggml's
// Q8_0 (blocks of 32 along head_dim: an fp16 scale d and 32 int8, x ~= d * q).
// A value is rounded once, when write_kv stores it; attention reads the
// stored form and widens each element exactly to a float (an fp16 is exact in
// float, and d * q is a product of an 11-bit and an 8-bit integer times a
// power of two, exact too), so attention over a rounded cache computes the
// same float operations as over a float32 cache holding the rounded values.
//
// The element helpers below are usable on host and device (the CUDA kernels
// read and write the same layout); the AVX2 kernels use intrinsics instead.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "kernels/fp16.h"
#include "kernels/ggml_types.h"

namespace nucleus::kernels {

enum class KvDtype { kF32, kF16, kQ8_0 };

// f16, as llama.cpp's default: half the bytes of f32 for every decode step to
// read, at a rounding (2^-11 relative) far below the weights'.
inline constexpr KvDtype kDefaultKvDtype = KvDtype::kF16;

// "f32", "f16", "q8_0".
const char* kv_dtype_name(KvDtype dtype);
// The dtype named "f32", "f16" or "q8_0"; nullopt for another name.
std::optional<KvDtype> kv_dtype_from_name(const std::string& name);

// Elements a row must be a multiple of: 32 for Q8_0 (one block), else 1.
constexpr int kv_dtype_granule(KvDtype dtype) { return dtype == KvDtype::kQ8_0 ? kQK : 1; }

// Bytes of `n` consecutive elements (n a multiple of kv_dtype_granule).
constexpr size_t kv_row_bytes(KvDtype dtype, int64_t n) {
  switch (dtype) {
    case KvDtype::kF16: return static_cast<size_t>(n) * sizeof(uint16_t);
    case KvDtype::kQ8_0: return static_cast<size_t>(n / kQK) * sizeof(BlockQ8_0);
    case KvDtype::kF32: break;
  }
  return static_cast<size_t>(n) * sizeof(float);
}

// Byte offset of KV head `head`'s row (head_bytes long) of `slot` in one
// layer's K (or V) laid out [slots / block, n_kv_heads, block, head_dim]
// (KvLayerView, kernels/ops.h): the one formula for CPU and CUDA.
NUCLEUS_HD inline int64_t kv_row_offset(int64_t slot, int head, int n_kv_heads, int block, int64_t head_bytes) {
  return ((slot / block * n_kv_heads + head) * block + slot % block) * head_bytes;
}

// ggml's quantize_row_q8_0_ref for one block: d = max|x| / 127, q = round(x / d)
// (ties away from zero, as roundf), d stored as fp16.
NUCLEUS_HD inline void kv_quantize_q8_0(const float* x, BlockQ8_0* out) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = fmaxf(amax, fabsf(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  out->d = float_to_fp16(d);
  for (int j = 0; j < kQK; ++j) out->qs[j] = static_cast<int8_t>(roundf(x[j] * id));
}

// Stores x[n] (n a multiple of kv_dtype_granule) in `dtype` at dst.
NUCLEUS_HD inline void kv_encode_row(KvDtype dtype, const float* x, int64_t n, uint8_t* dst) {
  if (dtype == KvDtype::kF32) {
    memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
  } else if (dtype == KvDtype::kF16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = float_to_fp16(x[i]);
      memcpy(dst + 2 * i, &h, sizeof h);
    }
  } else {
    for (int64_t b = 0; b < n / kQK; ++b) {
      BlockQ8_0 block;
      kv_quantize_q8_0(x + b * kQK, &block);
      memcpy(dst + b * sizeof(BlockQ8_0), &block, sizeof block);
    }
  }
}

// Element i of a stored row, widened exactly to float.
template <KvDtype D>
NUCLEUS_HD inline float kv_element(const uint8_t* row, int64_t i) {
  if constexpr (D == KvDtype::kF32) {
    float f;
    memcpy(&f, row + 4 * i, sizeof f);
    return f;
  } else if constexpr (D == KvDtype::kF16) {
    uint16_t h;
    memcpy(&h, row + 2 * i, sizeof h);
    return fp16_to_float(h);
  } else {
    const uint8_t* block = row + (i / kQK) * sizeof(BlockQ8_0);
    uint16_t d;
    memcpy(&d, block, sizeof d);
    return fp16_to_float(d) * static_cast<float>(static_cast<int8_t>(block[2 + i % kQK]));
  }
}

// The same for a dtype known only at run time (tests, slow paths).
inline float kv_element(KvDtype dtype, const uint8_t* row, int64_t i) {
  switch (dtype) {
    case KvDtype::kF16: return kv_element<KvDtype::kF16>(row, i);
    case KvDtype::kQ8_0: return kv_element<KvDtype::kQ8_0>(row, i);
    case KvDtype::kF32: break;
  }
  return kv_element<KvDtype::kF32>(row, i);
}

}  // namespace nucleus::kernels

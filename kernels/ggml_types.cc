// Type traits and reference (scalar) dequantization of the GGUF tensor types.
//
// The arithmetic follows ggml's dequantize_row_* (ggml-quants.c) operation by
// operation, in float32 and in the same order, so the results are bitwise the
// same as ggml's and as the `gguf` Python package's gguf.quants.dequantize
// (tests/kernels/dequantize_test.cc checks that against golden vectors).
// Blocks are copied out with memcpy because a tensor's data is only as aligned
// as the file's `general.alignment` says.
#include "kernels/ggml_types.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/fp16.h"

namespace nucleus {
namespace {

struct TypeEntry {
  uint32_t id;
  GgmlTypeTraits traits;
};

// Every type id of the enum; `supported` marks the ones dequantize_row handles.
constexpr TypeEntry kTypes[] = {
    {0, {"F32", 1, 4, true}},
    {1, {"F16", 1, 2, true}},
    {2, {"Q4_0", kQK, sizeof(BlockQ4_0), true}},
    {3, {"Q4_1", kQK, sizeof(BlockQ4_1), true}},
    {6, {"Q5_0", kQK, sizeof(BlockQ5_0), true}},
    {7, {"Q5_1", kQK, sizeof(BlockQ5_1), true}},
    {8, {"Q8_0", kQK, sizeof(BlockQ8_0), true}},
    {9, {"Q8_1", kQK, 36, false}},
    {10, {"Q2_K", kQK_K, 84, false}},
    {11, {"Q3_K", kQK_K, 110, false}},
    {12, {"Q4_K", kQK_K, sizeof(BlockQ4_K), true}},
    {13, {"Q5_K", kQK_K, 176, false}},
    {14, {"Q6_K", kQK_K, sizeof(BlockQ6_K), true}},
    {15, {"Q8_K", kQK_K, 292, false}},
    {30, {"BF16", 1, 2, true}},
};

template <typename Block>
Block load_block(const uint8_t* src) {
  Block block;
  std::memcpy(&block, src, sizeof block);
  return block;
}

uint16_t load_u16(const uint8_t* src) {
  uint16_t v;
  std::memcpy(&v, src, sizeof v);
  return v;
}

// Each dequantize_* converts `nb` whole blocks from `src` to 32 or 256 floats each.

void dequantize_q4_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ4_0), y += kQK) {
    const auto b = load_block<BlockQ4_0>(src);
    const float d = fp16_to_float(b.d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = (b.qs[j] & 0x0F) - 8;
      const int x1 = (b.qs[j] >> 4) - 8;
      y[j] = static_cast<float>(x0) * d;
      y[j + kQK / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ4_1), y += kQK) {
    const auto b = load_block<BlockQ4_1>(src);
    const float d = fp16_to_float(b.d);
    const float m = fp16_to_float(b.m);
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = b.qs[j] & 0x0F;
      const int x1 = b.qs[j] >> 4;
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kQK / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_q5_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ5_0), y += kQK) {
    const auto b = load_block<BlockQ5_0>(src);
    const float d = fp16_to_float(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);  // bit j is the fifth bit of element j
    for (int j = 0; j < kQK / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10;
      const int x0 = static_cast<int>((b.qs[j] & 0x0Fu) | xh0) - 16;
      const int x1 = static_cast<int>((b.qs[j] >> 4) | xh1) - 16;
      y[j] = static_cast<float>(x0) * d;
      y[j + kQK / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ5_1), y += kQK) {
    const auto b = load_block<BlockQ5_1>(src);
    const float d = fp16_to_float(b.d);
    const float m = fp16_to_float(b.m);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10;
      const uint32_t x0 = (b.qs[j] & 0x0Fu) | xh0;
      const uint32_t x1 = (b.qs[j] >> 4) | xh1;
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kQK / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_q8_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ8_0), y += kQK) {
    const auto b = load_block<BlockQ8_0>(src);
    const float d = fp16_to_float(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

// Scale and min of sub-block j (0..7) of a Q4_K super-block: 6 bits each,
// packed in 12 bytes (ggml's get_scale_min_k4).
void q4_k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequantize_q4_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ4_K)) {
    const auto b = load_block<BlockQ4_K>(src);
    const float d = fp16_to_float(b.d);
    const float dmin = fp16_to_float(b.dmin);
    const uint8_t* q = b.qs;
    // Four chunks of 64 elements: low nibbles of 32 bytes, then their high nibbles.
    for (int is = 0; is < 8; is += 2, q += 32) {
      uint8_t sc, m;
      q4_k_scale_min(is, b.scales, &sc, &m);
      const float d1 = d * sc;
      const float m1 = dmin * m;
      q4_k_scale_min(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc;
      const float m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q6_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ6_K)) {
    const auto b = load_block<BlockQ6_K>(src);
    const float d = fp16_to_float(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    // Two halves of 128 elements; each uses 64 bytes of ql, 32 of qh, 8 scales.
    for (int n = 0; n < kQK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.id == type_id) return entry.traits;
  }
  return std::nullopt;
}

std::string_view ggml_type_name(GgmlType type) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  return traits ? traits->name : std::string_view("unknown");
}

size_t ggml_row_size(GgmlType type, int64_t n) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits)
    throw std::invalid_argument("ggml_row_size: unknown type id " + std::to_string(static_cast<uint32_t>(type)));
  if (n < 0 || n % traits->block_size != 0) {
    throw std::invalid_argument("ggml_row_size: " + std::to_string(n) + " elements of " + std::string(traits->name) +
                                " is not a whole number of " + std::to_string(traits->block_size) + "-element blocks");
  }
  return static_cast<size_t>(n / traits->block_size) * traits->type_size;
}

void dequantize_row(GgmlType type, const void* src_void, float* dst, int64_t n) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits || !traits->supported) {
    throw std::invalid_argument("dequantize_row: unsupported type " + std::string(ggml_type_name(type)));
  }
  if (n < 0 || n % traits->block_size != 0) {
    throw std::invalid_argument("dequantize_row: " + std::to_string(n) + " elements of " + std::string(traits->name) +
                                " is not a whole number of blocks");
  }
  const auto* src = static_cast<const uint8_t*>(src_void);
  const int64_t nb = n / traits->block_size;
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_float(load_u16(src + 2 * i));
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load_u16(src + 2 * i));
      return;
    case GgmlType::Q4_0:
      return dequantize_q4_0(src, dst, nb);
    case GgmlType::Q4_1:
      return dequantize_q4_1(src, dst, nb);
    case GgmlType::Q5_0:
      return dequantize_q5_0(src, dst, nb);
    case GgmlType::Q5_1:
      return dequantize_q5_1(src, dst, nb);
    case GgmlType::Q8_0:
      return dequantize_q8_0(src, dst, nb);
    case GgmlType::Q4_K:
      return dequantize_q4_k(src, dst, nb);
    case GgmlType::Q6_K:
      return dequantize_q6_k(src, dst, nb);
    default:
      break;
  }
  throw std::invalid_argument("dequantize_row: unsupported type " + std::string(ggml_type_name(type)));
}

}  // namespace nucleus

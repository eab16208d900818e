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

#include "kernels/cpu/quant_blocks.h"
#include "kernels/fp16.h"

namespace nucleus {
namespace {

using kernels::cpu::iq4_xs_scale;
using kernels::cpu::load_block;
using kernels::cpu::q3_k_scales;
using kernels::cpu::q4_k_scale_min;

struct TypeEntry {
  uint32_t id;
  GgmlTypeTraits traits;
};

// ggml's type ids; `supported` marks the ones dequantize_row and matmul handle.
constexpr TypeEntry kTypes[] = {
    {0, {"F32", 1, 4, true}},
    {1, {"F16", 1, 2, true}},
    {2, {"Q4_0", kQK, sizeof(BlockQ4_0), true}},
    {3, {"Q4_1", kQK, sizeof(BlockQ4_1), true}},
    {6, {"Q5_0", kQK, sizeof(BlockQ5_0), true}},
    {7, {"Q5_1", kQK, sizeof(BlockQ5_1), true}},
    {8, {"Q8_0", kQK, sizeof(BlockQ8_0), true}},
    {9, {"Q8_1", kQK, 36, false}},
    {10, {"Q2_K", kQK_K, sizeof(BlockQ2_K), true}},
    {11, {"Q3_K", kQK_K, sizeof(BlockQ3_K), true}},
    {12, {"Q4_K", kQK_K, sizeof(BlockQ4_K), true}},
    {13, {"Q5_K", kQK_K, sizeof(BlockQ5_K), true}},
    {14, {"Q6_K", kQK_K, sizeof(BlockQ6_K), true}},
    {15, {"Q8_K", kQK_K, 292, false}},
    // Known to ggml, not to us: named so that a file using one is refused by name.
    {16, {"IQ2_XXS", kQK_K, 66, false}},
    {17, {"IQ2_XS", kQK_K, 74, false}},
    {18, {"IQ3_XXS", kQK_K, 98, false}},
    {19, {"IQ1_S", kQK_K, 50, false}},
    {20, {"IQ4_NL", kQK, sizeof(BlockIQ4_NL), true}},
    {21, {"IQ3_S", kQK_K, 110, false}},
    {22, {"IQ2_S", kQK_K, 82, false}},
    {23, {"IQ4_XS", kQK_K, sizeof(BlockIQ4_XS), true}},
    {24, {"I8", 1, 1, false}},
    {25, {"I16", 1, 2, false}},
    {26, {"I32", 1, 4, false}},
    {27, {"I64", 1, 8, false}},
    {28, {"F64", 1, 8, false}},
    {29, {"IQ1_M", kQK_K, 56, false}},
    {30, {"BF16", 1, 2, true}},
    {34, {"TQ1_0", kQK_K, 54, false}},
    {35, {"TQ2_0", kQK_K, 66, false}},
};


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

void dequantize_q4_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ4_K)) {
    const auto b = load_block<BlockQ4_K>(src);
    const float d = fp16_to_float(b.d);
    const float dmin = fp16_to_float(b.dmin);
    const uint8_t* q = b.qs;
    // Four chunks of 64 elements: low nibbles of 32 bytes, then their high nibbles.
    for (int is = 0; is < 8; is += 2, q += 32) {
      int sc, m;
      q4_k_scale_min(is, b.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      q4_k_scale_min(is + 1, b.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = dmin * static_cast<float>(m);
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

// Q2_K: two halves of 128 elements, each 32 bytes of qs read four times (bit
// pairs 0-1, 2-3, 4-5, 6-7); each read covers two 16-element sub-blocks.
void dequantize_q2_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ2_K)) {
    const auto b = load_block<BlockQ2_K>(src);
    const float d = fp16_to_float(b.d);
    const float dmin = fp16_to_float(b.dmin);
    int is = 0;
    for (const uint8_t* q = b.qs; q < b.qs + kQK_K / 4; q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half, ++is) {
          const float dl = d * static_cast<float>(b.scales[is] & 0xF);
          const float ml = dmin * static_cast<float>(b.scales[is] >> 4);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

// Q3_K: Q2_K's order for the low 2 bits; the third bit of element 128 * h +
// 32 * j + l is bit 4 * h + j of hmask[l], and a clear bit subtracts 4.
void dequantize_q3_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ3_K)) {
    const auto b = load_block<BlockQ3_K>(src);
    const float d = fp16_to_float(b.d);
    int scales[16];
    q3_k_scales(b.scales, scales);
    int is = 0, bit = 0;
    for (const uint8_t* q = b.qs; q < b.qs + kQK_K / 4; q += 32) {
      for (int shift = 0; shift < 8; shift += 2, ++bit) {
        for (int half = 0; half < 2; ++half, ++is) {
          const float dl = d * static_cast<float>(scales[is]);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int q3 = ((q[l] >> shift) & 3) - (((b.hmask[l] >> bit) & 1) ? 0 : 4);
            *y++ = dl * static_cast<float>(q3);
          }
        }
      }
    }
  }
}

// Q5_K: Q4_K plus a fifth bit, bit j of qh[l] for element 32 * j + l.
void dequantize_q5_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockQ5_K)) {
    const auto b = load_block<BlockQ5_K>(src);
    const float d = fp16_to_float(b.d);
    const float dmin = fp16_to_float(b.dmin);
    const uint8_t* q = b.qs;
    for (int is = 0; is < 8; is += 2, q += 32) {
      int sc, m;
      q4_k_scale_min(is, b.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      q4_k_scale_min(is + 1, b.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        const int x = (q[l] & 0xF) | (((b.qh[l] >> is) & 1) << 4);
        *y++ = d1 * static_cast<float>(x) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int x = (q[l] >> 4) | (((b.qh[l] >> (is + 1)) & 1) << 4);
        *y++ = d2 * static_cast<float>(x) - m2;
      }
    }
  }
}

// 16 bytes of nibbles scaled by d: low nibbles are elements 0..15, high 16..31.
void dequantize_iq4_32(const uint8_t* qs, float d, float* y) {
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = d * static_cast<float>(kIq4nlValues[qs[j] & 0xF]);
    y[j + kQK / 2] = d * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
  }
}

void dequantize_iq4_nl(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockIQ4_NL), y += kQK) {
    const auto b = load_block<BlockIQ4_NL>(src);
    dequantize_iq4_32(b.qs, fp16_to_float(b.d), y);
  }
}

void dequantize_iq4_xs(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, src += sizeof(BlockIQ4_XS)) {
    const auto b = load_block<BlockIQ4_XS>(src);
    const float d = fp16_to_float(b.d);
    for (int ib = 0; ib < kQK_K / kQK; ++ib, y += kQK) {
      dequantize_iq4_32(b.qs + 16 * ib, d * static_cast<float>(iq4_xs_scale(b.scales_l, b.scales_h, ib)), y);
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
    case GgmlType::Q2_K:
      return dequantize_q2_k(src, dst, nb);
    case GgmlType::Q3_K:
      return dequantize_q3_k(src, dst, nb);
    case GgmlType::Q4_K:
      return dequantize_q4_k(src, dst, nb);
    case GgmlType::Q5_K:
      return dequantize_q5_k(src, dst, nb);
    case GgmlType::Q6_K:
      return dequantize_q6_k(src, dst, nb);
    case GgmlType::IQ4_NL:
      return dequantize_iq4_nl(src, dst, nb);
    case GgmlType::IQ4_XS:
      return dequantize_iq4_xs(src, dst, nb);
    default:
      break;
  }
  throw std::invalid_argument("dequantize_row: unsupported type " + std::string(ggml_type_name(type)));
}

}  // namespace nucleus

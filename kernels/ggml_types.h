// Tensor element types as GGUF files store them (ggml's type ids) and the
// block layouts of the quantized ones. A quantized row of `n` elements is
// n / block_size blocks laid end to end; `n` must be a multiple of block_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nucleus {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

constexpr int kQK = 32;     // elements per block of the simple quants (Q4_0 .. Q8_0)
constexpr int kQK_K = 256;  // elements per super-block of the k-quants

// fp16 fields are stored as raw uint16_t bits; see fp16.h.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // low nibbles: elements 0..15, high nibbles: 16..31
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // fifth bit of each element
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // 8 sub-block scales and mins, 6 bits each
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 16 sub-block scales
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

struct GgmlTypeTraits {
  std::string_view name;
  int block_size;          // elements per block (1 for float types)
  size_t type_size;        // bytes per block
  bool supported;          // we can load and compute with it
};

// Traits of a type id read from a file; nullopt for ids we do not know at all.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id);
std::string_view ggml_type_name(GgmlType type);

// Bytes taken by a row of `n` elements; n must be a multiple of the block size.
size_t ggml_row_size(GgmlType type, int64_t n);

// Converts a row of `n` elements of a supported type to float.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace nucleus

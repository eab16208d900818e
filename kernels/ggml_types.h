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
  IQ4_NL = 20,
  IQ4_XS = 23,
  BF16 = 30,
};

constexpr int kQK = 32;     // elements per block of the simple quants (Q4_0 .. Q8_0, IQ4_NL)
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
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // 16 sub-blocks of 16: scale in the low nibble, min in the high
  uint8_t qs[kQK_K / 4];       // 2 bits each, see dequantize_q2_k for the order
  uint16_t d;
  uint16_t dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];  // third bit of each element; a clear bit means -4
  uint8_t qs[kQK_K / 4];     // low 2 bits
  uint8_t scales[12];        // 16 sub-block scales, 6 bits each, stored + 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // 8 sub-block scales and mins, 6 bits each
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // as Q4_K
  uint8_t qh[kQK_K / 8];  // bit j of byte l: fifth bit of element 32 * j + l
  uint8_t qs[kQK_K / 2];  // low 4 bits, as Q4_K
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 16 sub-block scales
  uint16_t d;
};

// The "non-linear" 4-bit quants: each nibble indexes kIq4nlValues.
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];  // as Q4_0
};
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;           // high 2 bits of the 8 sub-block scales
  uint8_t scales_l[kQK_K / 64];  // low 4 bits, two per byte; a scale is stored + 32
  uint8_t qs[kQK_K / 2];       // 8 sub-blocks of 32, each laid out as an IQ4_NL block's qs
};

// The 16 values an IQ4_NL / IQ4_XS nibble stands for (ggml's kvalues_iq4nl).
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);
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

// Activations quantized per row to 8-bit blocks, the right-hand side of the
// quantized matmul kernels (as llama.cpp does with Q8_0 / Q8_1 / Q8_K).
//
// Each block of x is stored as q[i] = round(x[i] * 127 / max|x|) (ties to
// even), so |x[i] - q[i] * d| <= d / 2 = max|x| / 254 within the block with
// d = max|x| / 127: that is the error bound the matmul tests check against.
// The 32-element blocks (ActBlockQ8) are ggml's Q8_0 / Q8_1 exactly: the same
// q, and d and s = d * sum(q) rounded to fp16 precision (held here as floats;
// see fp16_rounded for scales below fp16's normal range), so every integer
// dot product and block scale of a matmul is the one llama.cpp computes and
// the two engines differ only in float summation order. The rounded scales
// cost 2^-12 of a block's product, a twentieth of the 8-bit rounding.
// ActBlockQ8K keeps its scale in float32, as ggml's Q8_K does.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cstring>

#include "kernels/ggml_types.h"

namespace nucleus::kernels::cpu {

// 32 elements; used with every simple quant (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL).
struct ActBlockQ8 {
  float d;         // scale: x ~= d * qs[i]
  float s;         // d * sum(qs): the term Q4_1 / Q5_1 multiply by their min
  int8_t qs[kQK];
  int32_t sum;     // sum(qs), exact: the AVX-512 kernels' offset correction (Q4_0's -8, Q8_0's +128)
};
static_assert(sizeof(ActBlockQ8) == 44);

// 256 elements; used with the k-quants (Q2_K .. Q6_K) and IQ4_XS.
struct ActBlockQ8K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];  // sum of each group of 16 qs (sub-block mins / Q6_K offsets)
  // sum of each group of 32 qs (bsums[2 j] + bsums[2 j + 1]): the AVX-512 Q4_K / Q5_K
  // kernels meet two sub-blocks' mins with one VPDPWSSD (|sum| <= 32 * 127 fits int16)
  int16_t sums32[kQK_K / 32];
};
static_assert(sizeof(ActBlockQ8K) == 308);

// v rounded to fp16's precision, 11 significant bits (ties to even), keeping
// float's exponent range: for |v| in fp16's normal range [2^-14, 65504] this
// is exactly the fp16 value ggml stores; smaller scales (activation blocks
// with max|x| < 2^-14 * 127) keep 11 bits where fp16 would go subnormal or 0.
inline float fp16_rounded(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if ((u & 0x7F800000u) == 0x7F800000u) return v;  // inf / nan as they are
  u += 0x0FFFu + ((u >> 13) & 1u);  // round the 13 dropped mantissa bits to nearest even
  u &= ~0x1FFFu;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// How a weight type wants its activations.
enum class ActFormat { kFloat, kQ8, kQ8K };
ActFormat act_format(GgmlType weight_type);

// Bytes of one quantized activation row of n elements (n a multiple of the block).
size_t act_row_bytes(ActFormat format, int64_t n);

// x[n] -> n / 32 ActBlockQ8 blocks / n / 256 ActBlockQ8K blocks.
// quantize_row_q8 uses the AVX2 version (bitwise the same blocks) when avx2_enabled().
void quantize_row_q8(const float* x, int64_t n, ActBlockQ8* out);
void quantize_row_q8_scalar(const float* x, int64_t n, ActBlockQ8* out);
void quantize_row_q8_avx2(const float* x, int64_t n, ActBlockQ8* out);  // quantize_act_avx2.cc
// quantize_row_q8k likewise: the scalar loop calls libm (fmaxf, nearbyintf,
// fminf) per element, which decode and prefill of every K-quant model pay.
void quantize_row_q8k(const float* x, int64_t n, ActBlockQ8K* out);
void quantize_row_q8k_scalar(const float* x, int64_t n, ActBlockQ8K* out);
void quantize_row_q8k_avx2(const float* x, int64_t n, ActBlockQ8K* out);  // quantize_act_avx2.cc

}  // namespace nucleus::kernels::cpu

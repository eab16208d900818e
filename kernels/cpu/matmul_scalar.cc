// Portable matmul kernels: one dot product per output element, blocks in
// order. Used when the CPU lacks AVX2 or NUCLEUS_NO_AVX2=1, and as a second
// opinion for the AVX2 kernels in the tests.
//
// F32, F16, BF16, Q4_0, Q4_1 and Q8_0 perform the float operations of the
// vector kernels in their order, so every path gives bitwise the same y
// (cross-ISA determinism): floats in 8 lanes summed by hsum8 (the AVX2 float
// kernels), the 32-element block types in the panel kernels' order (q_panel.h).
// The 256-element types (k-quants, IQ4_XS) fix their order to the one every
// path computes, bitwise (k_block_accumulate below): one rounded product of
// the scales, then one fused multiply-add per super-block.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/cpu/vec_math_scalar.h"
#include "kernels/fp16.h"

namespace nucleus::kernels::cpu {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

float f32_at(const uint8_t* w, int64_t i) {
  float v;
  std::memcpy(&v, w + 4 * i, sizeof v);
  return v;
}
float f16_at(const uint8_t* w, int64_t i) { return fp16_to_float(load_u16(w + 2 * i)); }
float bf16_at(const uint8_t* w, int64_t i) { return bf16_to_float(load_u16(w + 2 * i)); }

// The AVX2 float kernels' order (matmul_float_avx2.cc): element i of each
// whole group of 8 goes to lane i % 8 by an FMA, the lanes are summed by
// hsum8, then the n % 8 tail is added with FMAs in order.
template <float (*At)(const uint8_t*, int64_t)>
float dot_float(const uint8_t* w, const float* x, int64_t n) {
  float lanes[8] = {};
  const int64_t whole = n / 8 * 8;
  for (int64_t i = 0; i < whole; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] = std::fma(At(w, i + l), x[i + l], lanes[l]);
  }
  float sum = hsum8(lanes);
  for (int64_t i = whole; i < n; ++i) sum = std::fma(At(w, i), x[i], sum);
  return sum;
}

// The 32 values of a simple-quant block as integers, and its scale and min
// (dequantized value = q * d + m).
struct SimpleBlock {
  int q[kQK];
  float d;
  float m;
};

SimpleBlock unpack_q4_0(const uint8_t* src) {
  const auto b = load_block<BlockQ4_0>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK / 2; ++j) {
    out.q[j] = (b.qs[j] & 0x0F) - 8;
    out.q[j + kQK / 2] = (b.qs[j] >> 4) - 8;
  }
  out.d = fp16_to_float(b.d);
  return out;
}

SimpleBlock unpack_q4_1(const uint8_t* src) {
  const auto b = load_block<BlockQ4_1>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK / 2; ++j) {
    out.q[j] = b.qs[j] & 0x0F;
    out.q[j + kQK / 2] = b.qs[j] >> 4;
  }
  out.d = fp16_to_float(b.d);
  out.m = fp16_to_float(b.m);
  return out;
}

// Fifth bits: bit j of qh belongs to element j.
void add_high_bits(const uint8_t qh_bytes[4], int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof qh);
  for (int j = 0; j < kQK; ++j) q[j] |= static_cast<int>(((qh >> j) & 1u) << 4);
}

SimpleBlock unpack_q5_0(const uint8_t* src) {
  const auto b = load_block<BlockQ5_0>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK / 2; ++j) {
    out.q[j] = b.qs[j] & 0x0F;
    out.q[j + kQK / 2] = b.qs[j] >> 4;
  }
  add_high_bits(b.qh, out.q);
  for (int j = 0; j < kQK; ++j) out.q[j] -= 16;
  out.d = fp16_to_float(b.d);
  return out;
}

SimpleBlock unpack_q5_1(const uint8_t* src) {
  const auto b = load_block<BlockQ5_1>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK / 2; ++j) {
    out.q[j] = b.qs[j] & 0x0F;
    out.q[j + kQK / 2] = b.qs[j] >> 4;
  }
  add_high_bits(b.qh, out.q);
  out.d = fp16_to_float(b.d);
  out.m = fp16_to_float(b.m);
  return out;
}

SimpleBlock unpack_q8_0(const uint8_t* src) {
  const auto b = load_block<BlockQ8_0>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK; ++j) out.q[j] = b.qs[j];
  out.d = fp16_to_float(b.d);
  return out;
}

SimpleBlock unpack_iq4_nl(const uint8_t* src) {
  const auto b = load_block<BlockIQ4_NL>(src);
  SimpleBlock out{};
  for (int j = 0; j < kQK / 2; ++j) {
    out.q[j] = kIq4nlValues[b.qs[j] & 0x0F];
    out.q[j + kQK / 2] = kIq4nlValues[b.qs[j] >> 4];
  }
  out.d = fp16_to_float(b.d);
  return out;
}

// The float part of a 256-element super-block, the same on every kernel path
// (matmul_k_*.cc): isum and msum are exact integers, d_w and dmin_w the
// block's fp16 scales as floats, d_x the activation block's scale.
//   acc = fma(d_w * d_x, float(isum), acc); acc = fma(-(dmin_w * d_x), float(msum), acc)
// (the second only for the types with mins: Q2_K, Q4_K, Q5_K).
inline float k_block_accumulate(float acc, float d_w, float d_x, int isum) {
  return std::fma(d_w * d_x, static_cast<float>(isum), acc);
}
inline float k_block_subtract_mins(float acc, float dmin_w, float d_x, int msum) {
  return std::fma(-(dmin_w * d_x), static_cast<float>(msum), acc);
}

// The 32-element block types in the order of the panel kernels (q_panel.h,
// matmul_q5_avx512.cc): one FMA of
// the block's exact integer dot product per block, the min terms in a
// separate chain added at the end.
template <SimpleBlock (*Unpack)(const uint8_t*), size_t kBlockBytes, bool kHasMin>
float dot_panel_order(const uint8_t* w, const ActBlockQ8* x, int64_t nb) {
  float acc = 0.0f, extra = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const SimpleBlock wb = Unpack(w + b * kBlockBytes);
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += wb.q[j] * x[b].qs[j];
    acc = std::fma(wb.d * x[b].d, static_cast<float>(isum), acc);
    if constexpr (kHasMin) extra = std::fma(wb.m, x[b].s, extra);
  }
  return kHasMin ? acc + extra : acc;
}

float dot_q4_k(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockQ4_K>(w + b * sizeof(BlockQ4_K));
    const ActBlockQ8K& xb = x[b];
    int isum = 0;
    int msum = 0;
    for (int j = 0; j < 8; ++j) {
      int scale, min;
      q4_k_scale_min(j, wb.scales, &scale, &min);
      // Sub-block j: 32 elements, nibble (j & 1) of bytes 32 * (j / 2) ...
      const uint8_t* q = wb.qs + 32 * (j / 2);
      const int shift = 4 * (j & 1);
      int dot = 0;
      for (int l = 0; l < 32; ++l) dot += ((q[l] >> shift) & 0xF) * xb.qs[32 * j + l];
      isum += scale * dot;
      msum += min * (xb.bsums[2 * j] + xb.bsums[2 * j + 1]);
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
    sum = k_block_subtract_mins(sum, fp16_to_float(wb.dmin), xb.d, msum);
  }
  return sum;
}

float dot_q6_k(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockQ6_K>(w + b * sizeof(BlockQ6_K));
    const ActBlockQ8K& xb = x[b];
    int isum = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = wb.ql + 64 * half;
      const uint8_t* qh = wb.qh + 32 * half;
      const int8_t* sc = wb.scales + 8 * half;
      const int8_t* xq = xb.qs + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        isum += sc[is] * q1 * xq[l] + sc[is + 2] * q2 * xq[l + 32] + sc[is + 4] * q3 * xq[l + 64] +
                sc[is + 6] * q4 * xq[l + 96];
      }
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
  }
  return sum;
}

// Q2_K and Q3_K keep their low 2 bits in the same order: element
// 128 * h + 32 * j + l is bits 2j..2j+1 of qs[32 * h + l], and lies in the
// 16-element sub-block (128 * h + 32 * j + l) / 16.
inline int low2(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }

float dot_q2_k(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockQ2_K>(w + b * sizeof(BlockQ2_K));
    const ActBlockQ8K& xb = x[b];
    int isum = 0;
    int msum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int e = 16 * g; e < 16 * g + 16; ++e) dot += low2(wb.qs, e) * xb.qs[e];
      isum += (wb.scales[g] & 0xF) * dot;
      msum += (wb.scales[g] >> 4) * xb.bsums[g];
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
    sum = k_block_subtract_mins(sum, fp16_to_float(wb.dmin), xb.d, msum);
  }
  return sum;
}

float dot_q3_k(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockQ3_K>(w + b * sizeof(BlockQ3_K));
    const ActBlockQ8K& xb = x[b];
    int scales[16];
    q3_k_scales(wb.scales, scales);
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int e = 16 * g; e < 16 * g + 16; ++e) {
        // Third bit: bit (e / 32) of hmask[e % 32]; clear means -4.
        const int high = (wb.hmask[e % 32] >> (e / 32)) & 1;
        dot += (low2(wb.qs, e) - (high ? 0 : 4)) * xb.qs[e];
      }
      isum += scales[g] * dot;
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
  }
  return sum;
}

float dot_q5_k(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockQ5_K>(w + b * sizeof(BlockQ5_K));
    const ActBlockQ8K& xb = x[b];
    int isum = 0;
    int msum = 0;
    for (int j = 0; j < 8; ++j) {
      int scale, min;
      q4_k_scale_min(j, wb.scales, &scale, &min);
      const uint8_t* q = wb.qs + 32 * (j / 2);
      const int shift = 4 * (j & 1);
      int dot = 0;
      for (int l = 0; l < 32; ++l) {
        const int v = ((q[l] >> shift) & 0xF) | (((wb.qh[l] >> j) & 1) << 4);
        dot += v * xb.qs[32 * j + l];
      }
      isum += scale * dot;
      msum += min * (xb.bsums[2 * j] + xb.bsums[2 * j + 1]);
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
    sum = k_block_subtract_mins(sum, fp16_to_float(wb.dmin), xb.d, msum);
  }
  return sum;
}

float dot_iq4_xs(const uint8_t* w, const ActBlockQ8K* x, int64_t nb) {
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const auto wb = load_block<BlockIQ4_XS>(w + b * sizeof(BlockIQ4_XS));
    const ActBlockQ8K& xb = x[b];
    int isum = 0;
    for (int ib = 0; ib < kQK_K / kQK; ++ib) {
      const uint8_t* q = wb.qs + 16 * ib;
      const int8_t* xq = xb.qs + 32 * ib;
      int dot = 0;
      for (int j = 0; j < 16; ++j) dot += kIq4nlValues[q[j] & 0xF] * xq[j] + kIq4nlValues[q[j] >> 4] * xq[j + 16];
      isum += iq4_xs_scale(wb.scales_l, wb.scales_h, ib) * dot;
    }
    sum = k_block_accumulate(sum, fp16_to_float(wb.d), xb.d, isum);
  }
  return sum;
}

// Applies a row dot product to every (t, r) of the range.
template <typename XBlock, float (*Dot)(const uint8_t*, const XBlock*, int64_t), int kElemsPerX>
void kernel(const MatmulArgs& a, int64_t r_begin, int64_t r_end) {
  const int64_t nx = a.cols / kElemsPerX;
  for (int64_t t = 0; t < a.T; ++t) {
    const auto* x = reinterpret_cast<const XBlock*>(a.x + t * a.x_row_bytes);
    for (int64_t r = r_begin; r < r_end; ++r) a.y[t * a.ldy + r] = Dot(a.w + r * a.w_row_bytes, x, nx);
  }
}

}  // namespace

MatmulKernel scalar_matmul_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return kernel<float, dot_float<f32_at>, 1>;
    case GgmlType::F16:
      return kernel<float, dot_float<f16_at>, 1>;
    case GgmlType::BF16:
      return kernel<float, dot_float<bf16_at>, 1>;
    case GgmlType::Q4_0:
      return kernel<ActBlockQ8, dot_panel_order<unpack_q4_0, sizeof(BlockQ4_0), false>, kQK>;
    case GgmlType::Q4_1:
      return kernel<ActBlockQ8, dot_panel_order<unpack_q4_1, sizeof(BlockQ4_1), true>, kQK>;
    case GgmlType::Q5_0:
      return kernel<ActBlockQ8, dot_panel_order<unpack_q5_0, sizeof(BlockQ5_0), false>, kQK>;
    case GgmlType::Q5_1:
      return kernel<ActBlockQ8, dot_panel_order<unpack_q5_1, sizeof(BlockQ5_1), true>, kQK>;
    case GgmlType::Q8_0:
      return kernel<ActBlockQ8, dot_panel_order<unpack_q8_0, sizeof(BlockQ8_0), false>, kQK>;
    case GgmlType::IQ4_NL:
      return kernel<ActBlockQ8, dot_panel_order<unpack_iq4_nl, sizeof(BlockIQ4_NL), false>, kQK>;
    case GgmlType::Q2_K:
      return kernel<ActBlockQ8K, dot_q2_k, kQK_K>;
    case GgmlType::Q3_K:
      return kernel<ActBlockQ8K, dot_q3_k, kQK_K>;
    case GgmlType::Q4_K:
      return kernel<ActBlockQ8K, dot_q4_k, kQK_K>;
    case GgmlType::Q5_K:
      return kernel<ActBlockQ8K, dot_q5_k, kQK_K>;
    case GgmlType::Q6_K:
      return kernel<ActBlockQ8K, dot_q6_k, kQK_K>;
    case GgmlType::IQ4_XS:
      return kernel<ActBlockQ8K, dot_iq4_xs, kQK_K>;
    default:
      return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

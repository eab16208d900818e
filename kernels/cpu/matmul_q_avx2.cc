// AVX2 kernels for the 32-element quants Q5_0, Q5_1 and IQ4_NL against ActBlockQ8 activations
// (Q4_0, Q4_1 and Q8_0 are in matmul_q_panel_avx2.cc).
//
// Per block: an exact integer dot product of 32 weights and 32 int8
// activations (maddubs: u8 x s8 -> pairs of s16, then madd -> 8 x s32, then
// the 8 lanes summed to one int), then acc = fma(d_w * d_x, float(idot), acc)
// in block order; Q5_1's min terms go in a separate chain, extra =
// fma(m_w, s_x, extra), added at the end. That is the float order of the
// AVX-512 panel kernels (matmul_q5_avx512.cc) and of the scalar reference, so
// all paths give bitwise the same y. Signed weights (Q5_0, IQ4_NL) use |w| as
// the unsigned operand and move w's sign onto the activation (sign_epi8),
// which is exact: no product exceeds 128 * 127.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/gemm_tiles_avx2.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

struct QX {
  __m256i q;
  float d;
  float s;
};

inline QX load_act(const uint8_t* x_row, int64_t b) {
  const uint8_t* p = x_row + b * sizeof(ActBlockQ8);
  QX x;
  __builtin_memcpy(&x.d, p + offsetof(ActBlockQ8, d), sizeof x.d);
  __builtin_memcpy(&x.s, p + offsetof(ActBlockQ8, s), sizeof x.s);
  x.q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(ActBlockQ8, qs)));
  return x;
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles (elements 0..15) then high (16..31).
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), _mm_and_si128(packed, mask));
}

// Bit i of qh -> 0x10 in byte i.
inline __m256i fifth_bits(const uint8_t* qh_bytes) {
  uint32_t qh;
  __builtin_memcpy(&qh, qh_bytes, sizeof qh);
  // Byte i takes byte i / 8 of qh, then tests bit i % 8 of it.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The exact integer dot product of one block, as a float (|idot| <= 32 * 128 * 127 < 2^24: exact).
inline float block_dot_unsigned(__m256i w_u8, __m256i x_s8) {
  const __m256i pairs = _mm256_maddubs_epi16(w_u8, x_s8);
  const __m256i v = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return static_cast<float>(_mm_cvtsi128_si32(s));
}

// acc = fma(a, b, acc) with one rounding (an intrinsic, not std::fma, so no
// library code is compiled with -mfma).
inline float fma_ss(float a, float b, float acc) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(acc)));
}

// ---- signed weights: Q5_0 --------------------------------------

struct SignedW {
  __m256i abs_q;
  __m256i q;
  float d;
};

struct SignedBase {
  static constexpr int kMR = 4;
  static constexpr int kNR = 2;
  static constexpr int kDecodeNR = 1;  // see gemm(): one sequential weight stream decodes fastest
  using W = SignedW;
  using X = QX;
  static int64_t blocks(int64_t cols) { return cols / kQK; }
  static X load_x(const uint8_t* x_row, int64_t b) { return load_act(x_row, b); }
  // The running sum is the tile's scalar `extra`; its vector acc is unused.
  static void step(const W& w, const X& x, __m256&, float& acc) {
    const float dot = block_dot_unsigned(w.abs_q, _mm256_sign_epi8(x.q, w.q));
    acc = fma_ss(w.d * x.d, dot, acc);
  }
  static float finish(__m256, float acc, const uint8_t*, const uint8_t*, int64_t) { return acc; }
  static W make(__m256i q, float d) { return {_mm256_sign_epi8(q, q), q, d}; }
};


struct Q5_0Kernel : SignedBase {
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ5_0);
    const __m256i q5 = _mm256_or_si256(unpack_nibbles(p + offsetof(BlockQ5_0, qs)), fifth_bits(p + offsetof(BlockQ5_0, qh)));
    return make(_mm256_sub_epi8(q5, _mm256_set1_epi8(16)), half_to_float(p));
  }
};


// ---- unsigned weights with a min: Q5_1 --------------------------------

struct MinW {
  __m256i q;
  float d;
  float m;
};

struct MinBase {
  static constexpr int kMR = 4;
  static constexpr int kNR = 2;
  static constexpr int kDecodeNR = 1;  // see gemm(): one sequential weight stream decodes fastest
  using W = MinW;
  using X = QX;
  static int64_t blocks(int64_t cols) { return cols / kQK; }
  static X load_x(const uint8_t* x_row, int64_t b) { return load_act(x_row, b); }
  // The block chain runs in lane 0 of the tile's vector acc, the min chain in `extra`.
  static void step(const W& w, const X& x, __m256& acc, float& extra) {
    const float dot = block_dot_unsigned(w.q, x.q);
    acc = _mm256_castps128_ps256(_mm_fmadd_ss(_mm_set_ss(w.d * x.d), _mm_set_ss(dot), _mm256_castps256_ps128(acc)));
    extra = fma_ss(w.m, x.s, extra);
  }
  static float finish(__m256 acc, float extra, const uint8_t*, const uint8_t*, int64_t) {
    return _mm256_cvtss_f32(acc) + extra;
  }
};


struct Q5_1Kernel : MinBase {
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockQ5_1);
    const __m256i q = _mm256_or_si256(unpack_nibbles(p + offsetof(BlockQ5_1, qs)), fifth_bits(p + offsetof(BlockQ5_1, qh)));
    return {q, half_to_float(p), half_to_float(p + offsetof(BlockQ5_1, m))};
  }
};

// IQ4_NL: each nibble indexes kIq4nlValues (signed, like Q4_0's q - 8).
struct IQ4_NLKernel : SignedBase {
  static W load_w(const uint8_t* w_row, int64_t b) {
    const uint8_t* p = w_row + b * sizeof(BlockIQ4_NL);
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    return make(_mm256_shuffle_epi8(table, unpack_nibbles(p + offsetof(BlockIQ4_NL, qs))), half_to_float(p));
  }
};

}  // namespace

MatmulKernel avx2_simple_quant_kernel(GgmlType type) {
  switch (type) {
    // Q4_0, Q4_1, Q8_0: the panel kernels, in the AVX-512 path's float order (q_panel.h).
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q8_0: return avx2_q_as_stored_kernel(type);
    case GgmlType::Q5_0: return gemm<Q5_0Kernel>;
    case GgmlType::Q5_1: return gemm<Q5_1Kernel>;
    case GgmlType::IQ4_NL: return gemm<IQ4_NLKernel>;
    default: return nullptr;
  }
}

}  // namespace nucleus::kernels::cpu

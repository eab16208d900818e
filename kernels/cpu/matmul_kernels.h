// The per-type matmul kernels the driver (matmul_cpu.cc) chooses from.
//
// A kernel computes y[t, r] for all tokens t in [0, T) and weight rows r in
// [r_begin, r_end). Every y[t, r] goes through the same sequence of float
// operations whatever T, r_begin, r_end and the tile it lands in, so a row's
// result never depends on its neighbours (ops.h, batch invariance).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ggml_types.h"

namespace nucleus::kernels::cpu {

struct MatmulArgs {
  const uint8_t* w = nullptr;  // [rows, w_row_bytes] weight rows as stored
  size_t w_row_bytes = 0;
  int64_t cols = 0;            // elements per weight row
  const uint8_t* x = nullptr;  // [T, x_row_bytes] activations: floats or quantize_act.h blocks
  size_t x_row_bytes = 0;
  int64_t T = 0;
  float* y = nullptr;          // [T, ldy]
  int64_t ldy = 0;
};

using MatmulKernel = void (*)(const MatmulArgs& args, int64_t r_begin, int64_t r_end);

// nullptr when the type has no kernel on that path.
MatmulKernel scalar_matmul_kernel(GgmlType type);
MatmulKernel avx2_matmul_kernel(GgmlType type);  // call only when avx2_enabled()
// Q4_0, Q4_1, Q8_0 (matmul_q_avx512.cc); the AVX-512 path uses the AVX2
// kernels for the other types. Call only when avx512_enabled().
MatmulKernel avx512_matmul_kernel(GgmlType type);

// Weights repacked once (kernels/packed_weight.h) for the AVX-512 kernels:
// avx512_packed_bytes is 0 when the type has none. avx512_pack_rows fills rows
// [r_begin, r_end) of the packed form (r_begin a multiple of 16; rows past
// `rows` in the last panel are zero). The prepacked kernel takes args.w = the
// packed bytes and gives bitwise the results of avx512_matmul_kernel where
// that exists (Q4_0, Q4_1); the k-quants have only the prepacked kernel (as
// stored they take the AVX2 one, whose float order is the same: bitwise equal
// results). Either way one weight always takes the same kernel (matmul_cpu.cc),
// so batch invariance holds.
size_t avx512_packed_bytes(GgmlType type, int64_t rows, int64_t cols);
void avx512_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                      int64_t r_begin, int64_t r_end, uint8_t* out);
MatmulKernel avx512_prepacked_kernel(GgmlType type);

// The same three for the k-quants (matmul_k_avx512.cc: Q4_K, Q5_K, Q6_K), behind the ones above.
size_t avx512_k_packed_bytes(GgmlType type, int64_t rows, int64_t cols);
void avx512_k_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                        int64_t r_begin, int64_t r_end, uint8_t* out);
MatmulKernel avx512_k_prepacked_kernel(GgmlType type);

// And for Q2_K, Q3_K, IQ4_XS (matmul_k_low_bit_avx512.cc), behind the k-quant ones.
size_t avx512_low_bit_k_packed_bytes(GgmlType type, int64_t rows, int64_t cols);
void avx512_low_bit_k_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                                int64_t r_begin, int64_t r_end, uint8_t* out);
MatmulKernel avx512_low_bit_k_prepacked_kernel(GgmlType type);

// And for Q5_0, Q5_1, IQ4_NL (matmul_q5_avx512.cc), behind the low-bit ones.
size_t avx512_q5_packed_bytes(GgmlType type, int64_t rows, int64_t cols);
void avx512_q5_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                         int64_t r_begin, int64_t r_end, uint8_t* out);
MatmulKernel avx512_q5_prepacked_kernel(GgmlType type);

// From this many tokens on, the AVX2 panel kernels (the 32-element types and
// the 256-element ones) unpack each panel once into plain bytes, then only
// multiply; decode and small batches read the panels as packed. Zen 3, 1B
// Q4_K_M model (weights from DRAM), nucleus bench model: batch 8 decode
// 122-127 tok/s reading the panels against 100-106 unpacked; batch 16 114-133
// unpacked against 90-127. Q5_K, Q6_K, Q2_K and Q3_K run 8-22% faster unpacked
// at T = 8 in bench/kernels_bench (the weight in L3), not in the model: batch
// 8 (Q4_K_M) with Q6_K unpacked, 5 interleaved pairs: 108-122 against 117-123
// tok/s reading the panels.
constexpr int64_t kMinUnpackedTokens = 16;

// The AVX2 kernels by family (matmul_{float,q,k,k_low_bit}_avx2.cc), behind avx2_matmul_kernel.
MatmulKernel avx2_float_kernel(GgmlType type);
MatmulKernel avx2_simple_quant_kernel(GgmlType type);  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL
// The 32-element types in the panel layout of q_panel.h (matmul_q_panel_avx2.cc):
// packed at load (args.w = the packed bytes); Q4_0 / Q4_1 / Q8_0 also as
// stored, packed per call. Both give bitwise the AVX-512 kernels' results.
MatmulKernel avx2_q_panel_kernel(GgmlType type);
MatmulKernel avx2_q_as_stored_kernel(GgmlType type);
// What avx2_q_panel_kernel runs from kMinUnpackedTokens tokens on: each panel
// unpacked once per token slab (matmul_q_unpacked_avx2.cc), the same bits.
void avx2_q_gemm_unpacked(GgmlType type, const MatmulArgs& args, int64_t r_begin, int64_t r_end);
MatmulKernel avx2_k_quant_kernel(GgmlType type);       // Q4_K, Q5_K, Q6_K
// The 256-element types in the panel layout of k_panel.h, packed at load
// (args.w = the packed bytes): bitwise the results of avx2_k_quant_kernel and
// avx2_low_bit_k_kernel on the weights as stored. Q4_K, Q5_K, Q6_K
// (matmul_k_panel_avx2.cc), then Q2_K, Q3_K, IQ4_XS (matmul_k_low_bit_panel_avx2.cc).
MatmulKernel avx2_k_panel_kernel(GgmlType type);
MatmulKernel avx2_low_bit_k_panel_kernel(GgmlType type);
MatmulKernel avx2_low_bit_k_kernel(GgmlType type);     // Q2_K, Q3_K, IQ4_XS

}  // namespace nucleus::kernels::cpu

// The 16-row panel layout of the 32-element weight types, read by the AVX-512
// VNNI kernels (matmul_q_avx512.cc, matmul_q5_avx512.cc) and the AVX2 ones
// (matmul_q_panel_avx2.cc, matmul_q_unpacked_avx2.cc).
//
// One 32-column block of a 16-row panel: q[g] holds, in 32-bit lane r, the 4
// bytes 4g..4g+3 of row r (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL: the 16 bytes of
// nibbles as stored, element j in the low nibble of byte j and element j + 16
// in its high nibble; Q8_0: the 32 bytes as unsigned, w + 128). Q5_0 and Q5_1
// add one register of fifth bits: byte i of lane r holds in bit g element
// 4g + i's and in bit 4 + g element 16 + 4g + i's. Then the rows' fp16 scales
// (and Q4_1 / Q5_1 mins) as stored. Rows past the weight's end are zero
// (Q8_0: 0x80, w = 0). The same size as the 16 blocks it replaces, so a
// packed weight costs no extra bandwidth. Panel k of a packed weight starts
// at block k * (cols / 32).
//
// Every path computes y[t, r] with the same float operations (cross-ISA
// determinism, kernels/ops.h); the integer dot product of a block is exact:
//   acc = 0; for b in order: acc = fma(d_w[r,b] * d_x[t,b], float(idot[t,r,b]), acc)
//   Q4_1, Q5_1 also: extra = 0; for b in order: extra = fma(m_w[r,b], s_x[t,b], extra); y = acc + extra
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ggml_types.h"

namespace nucleus::kernels::cpu {

constexpr int kQPanelRows = 16;

struct PanelBlockQ4_0 {
  uint8_t q[4][64];
  uint16_t d[kQPanelRows];
};
struct PanelBlockQ4_1 {
  uint8_t q[4][64];
  uint16_t d[kQPanelRows];
  uint16_t m[kQPanelRows];
};
struct PanelBlockQ8_0 {
  uint8_t q[8][64];
  uint16_t d[kQPanelRows];
};
struct PanelBlockQ5_0 {
  uint8_t q[4][64];
  uint8_t qh[64];
  uint16_t d[kQPanelRows];
};
struct PanelBlockQ5_1 {
  uint8_t q[4][64];
  uint8_t qh[64];
  uint16_t d[kQPanelRows];
  uint16_t m[kQPanelRows];
};
struct PanelBlockIQ4_NL {
  uint8_t q[4][64];
  uint16_t d[kQPanelRows];
};

// True for the types with this layout (Q4_0, Q4_1, Q8_0, Q5_0, Q5_1, IQ4_NL).
bool has_q_panel_layout(GgmlType type);

// Bytes of the packed form of a [rows, cols] weight; 0 when the type has no
// panel layout or cols is not a multiple of 32.
size_t q_panel_bytes(GgmlType type, int64_t rows, int64_t cols);

// Fills panels [r_begin / 16, ceil(r_end / 16)) of the packed form (r_begin a
// multiple of 16), portable code: the same bytes as the AVX-512 vector packer
// of Q4_0 / Q4_1 / Q8_0, and the AVX-512 path's own packer of the others.
void q_panel_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                       int64_t r_begin, int64_t r_end, uint8_t* out);

// One panel: rows [r0, r0 + n) (n <= 16) of nb blocks into out[0, nb).
void q_panel_pack_panel(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb,
                        uint8_t* out);

}  // namespace nucleus::kernels::cpu

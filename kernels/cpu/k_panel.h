// The 16-row panel layout of the 256-element weight types (Q4_K, Q5_K, Q6_K,
// and Q2_K, Q3_K, IQ4_XS below), packed once at load
// (packed_weight.h) and read by the AVX-512 VNNI kernels (matmul_k_avx512.cc,
// a whole panel per ZMM register) and the AVX2 ones (matmul_k_panel_avx2.cc,
// half a panel per YMM register). The packer is portable code, so a CPU with
// AVX2 only packs the same bytes.
//
// A panel holds one row per 32-bit lane. Each 256-element super-block of a
// panel is one PanelBlockQ4_K: per 32-element sub-block j, 4 groups whose lane
// r holds 4 bytes of row r, byte i of group g carrying element 4g + i in its
// low nibble and element 16 + 4g + i in its high nibble; then the 6-bit scales
// and mins as bytes and the fp16 d and dmin, 16 rows each. Rows past the
// weight's end are zero. Panel k of a packed weight starts at super-block
// k * (cols / 256).
//
// PanelBlockQ5_K adds, per sub-block, the fifth bits: byte i of lane r of
// qh[j] holds in bit g the fifth bit of element 4g + i and in bit 4 + g that
// of element 16 + 4g + i (the elements of q[j][g]'s byte i).
//
// PanelBlockQ6_K keeps the same 32-element groups: the low 4 bits as Q4_K's
// nibbles, the high 2 bits of two groups in one more register set, and the 16
// int8 scales as (scale of elements 0..15, of 16..31) pairs per group.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ggml_types.h"

namespace nucleus::kernels::cpu {

constexpr int kKPanelRows = 16;

struct PanelBlockQ4_K {
  uint8_t q[8][4][64];          // [sub-block][group][lane r * 4 + i]
  uint8_t scales[8][16];        // [sub-block][row]
  uint8_t mins[8][16];
  uint16_t d[kKPanelRows];
  uint16_t dmin[kKPanelRows];
};
static_assert(sizeof(PanelBlockQ4_K) == 37 * 64);

struct PanelBlockQ5_K {
  uint8_t q[8][4][64];
  uint8_t qh[8][64];            // [sub-block][lane r * 4 + i]
  uint8_t scales[8][16];
  uint8_t mins[8][16];
  uint16_t d[kKPanelRows];
  uint16_t dmin[kKPanelRows];
};
static_assert(sizeof(PanelBlockQ5_K) == 45 * 64);

struct PanelBlockQ6_K {
  uint8_t ql[8][4][64];     // [group][register][lane r * 4 + i]: element 4g + i low nibble, 16 + 4g + i high
  uint8_t qh[4][4][64];     // [group pair][register][lane r * 4 + i]: 2 bits each for elements 4g + i, 16 + 4g + i
                            // of the pair's first group (bits 0..3), then of its second (bits 4..7)
  int8_t scales[8][16][2];  // [group][row][half]
  uint16_t d[kKPanelRows];
  uint8_t pad[32];          // a whole number of cache lines
};
static_assert(sizeof(PanelBlockQ6_K) == 53 * 64);

// The low-bit panels (read by matmul_k_low_bit_avx512.cc and
// matmul_k_low_bit_panel_avx2.cc). Q2_K / Q3_K: per 32-element group s, the
// low 2 bits as 2 registers: byte i of lane r of low[s][h] holds, in bit pair
// k, element 4 (4 h + k) + i of row r's group; Q3_K adds one register of
// third bits (bit g of byte i: element 4 g + i), so a value is the stored one
// + 4 (0..7). Scales as (elements 0..15, 16..31) pairs per group and row
// (Q2_K: as stored, scale in the low nibble and min in the high; Q3_K: -32..31).
// IQ4_XS: Q4_K's nibble layout (IQ4_XS's own byte order), 8 signed scales
// (-32..31) and d per row.

struct PanelBlockQ2_K {
  uint8_t low[8][2][64];      // [group][register][lane r * 4 + i]
  uint8_t scales[8][16][2];   // [group][row][half]: scale in the low nibble, min in the high (as stored)
  uint16_t d[kKPanelRows];
  uint16_t dmin[kKPanelRows];
};
static_assert(sizeof(PanelBlockQ2_K) == 21 * 64);

struct PanelBlockQ3_K {
  uint8_t low[8][2][64];
  uint8_t high[8][64];       // [group][lane r * 4 + i]: bit g is the third bit of element 4 g + i
  int8_t scales[8][16][2];   // [group][row][half], -32..31
  uint16_t d[kKPanelRows];
  uint8_t pad[32];           // a whole number of cache lines
};
static_assert(sizeof(PanelBlockQ3_K) == 29 * 64);

struct PanelBlockIQ4_XS {
  uint8_t q[8][4][64];    // [sub-block][register][lane r * 4 + i]: element 4g + i low nibble, 16 + 4g + i high
  int8_t scales[8][16];   // [sub-block][row], -32..31
  uint16_t d[kKPanelRows];
  uint8_t pad[32];        // a whole number of cache lines
};
static_assert(sizeof(PanelBlockIQ4_XS) == 35 * 64);

// True for the types with this layout (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS).
bool has_k_panel_layout(GgmlType type);

// Bytes of the packed form of a [rows, cols] weight; 0 when the type has no
// panel layout here or cols is not a multiple of 256.
size_t k_panel_bytes(GgmlType type, int64_t rows, int64_t cols);

// Fills panels [r_begin / 16, ceil(r_end / 16)) of the packed form (r_begin a
// multiple of 16; the last panel's rows past `rows` are zero).
void k_panel_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                       int64_t r_begin, int64_t r_end, uint8_t* out);

}  // namespace nucleus::kernels::cpu

// The portable packer of the 256-element types' panel layout (k_panel.h), used
// by both the AVX-512 and the AVX2 paths: a byte transpose of 16 rows per
// super-block, once at load.
#include "kernels/cpu/k_panel.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

// Super-blocks [0, nb) of rows [r0, r0 + n) (n <= 16; missing rows are zero).
// Block is BlockQ4_K with Panel PanelBlockQ4_K, or BlockQ5_K with PanelBlockQ5_K.
template <class Block, class Panel>
void pack_panel_q45_k(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, Panel* out) {
  constexpr bool kFifthBit = std::is_same_v<Block, BlockQ5_K>;
  for (int64_t b = 0; b < nb; ++b) {
    Panel& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < n; ++r) {
      const auto blk = load_block<Block>(w + (r0 + r) * w_row_bytes + b * sizeof(Block));
      p.d[r] = blk.d;
      p.dmin[r] = blk.dmin;
      for (int j = 0; j < 8; ++j) {
        int scale, min;
        q4_k_scale_min(j, blk.scales, &scale, &min);
        p.scales[j][r] = static_cast<uint8_t>(scale);
        p.mins[j][r] = static_cast<uint8_t>(min);
        // Sub-block j is nibble (j & 1) of bytes 32 * (j / 2) .. + 31.
        const uint8_t* q = blk.qs + 32 * (j / 2);
        const int shift = 4 * (j & 1);
        for (int k = 0; k < 16; ++k) {
          const int lo = (q[k] >> shift) & 0xF, hi = (q[k + 16] >> shift) & 0xF;
          p.q[j][k / 4][4 * r + k % 4] = static_cast<uint8_t>(lo | (hi << 4));
          if constexpr (kFifthBit) {  // bit j of qh[l] belongs to element 32 * j + l
            const int bit_lo = (blk.qh[k] >> j) & 1, bit_hi = (blk.qh[k + 16] >> j) & 1;
            p.qh[j][4 * r + k % 4] |= static_cast<uint8_t>((bit_lo << (k / 4)) | (bit_hi << (4 + k / 4)));
          }
        }
      }
    }
  }
}

// The 256 values 0..63 of a Q6_K super-block (stored value + 32), in element order.
void unpack_q6_k(const BlockQ6_K& blk, uint8_t* q) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = blk.ql + 64 * h;
    const uint8_t* qh = blk.qh + 32 * h;
    uint8_t* y = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      y[l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
      y[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      y[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      y[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

void pack_panel_q6_k(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, PanelBlockQ6_K* out) {
  for (int64_t b = 0; b < nb; ++b) {
    PanelBlockQ6_K& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < n; ++r) {
      const auto blk = load_block<BlockQ6_K>(w + (r0 + r) * w_row_bytes + b * sizeof(BlockQ6_K));
      p.d[r] = blk.d;
      uint8_t q[kQK_K];
      unpack_q6_k(blk, q);
      for (int s = 0; s < 8; ++s) {
        for (int k = 0; k < 16; ++k) {
          const int lo = q[32 * s + k], hi = q[32 * s + 16 + k];
          uint8_t* byte = &p.ql[s][k / 4][4 * r + k % 4];
          *byte = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
          const int high_bits = (lo >> 4) | ((hi >> 4) << 2);
          p.qh[s / 2][k / 4][4 * r + k % 4] |= static_cast<uint8_t>(high_bits << (4 * (s % 2)));
        }
      }
      for (int j = 0; j < 16; ++j) p.scales[j / 2][r][j % 2] = blk.scales[j];
    }
  }
}

// Element e's low 2 bits in Q2_K / Q3_K order (matmul_scalar.cc's low2).
inline int low2(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }

// The low-bit planes of one row: v[256] unsigned values (bits 0..1, and bit 2 for Q3_K).
template <class Panel>
void pack_low_bits(const uint8_t* v, int r, Panel& p) {
  for (int s = 0; s < 8; ++s) {
    for (int g = 0; g < 8; ++g) {
      for (int i = 0; i < 4; ++i) {
        const int value = v[32 * s + 4 * g + i];
        p.low[s][g / 4][4 * r + i] |= static_cast<uint8_t>((value & 3) << (2 * (g % 4)));
        if constexpr (std::is_same_v<Panel, PanelBlockQ3_K>) {
          p.high[s][4 * r + i] |= static_cast<uint8_t>(((value >> 2) & 1) << g);
        }
      }
    }
  }
}

void pack_panel_q2_k(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, PanelBlockQ2_K* out) {
  for (int64_t b = 0; b < nb; ++b) {
    PanelBlockQ2_K& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < n; ++r) {
      const auto blk = load_block<BlockQ2_K>(w + (r0 + r) * w_row_bytes + b * sizeof(BlockQ2_K));
      p.d[r] = blk.d;
      p.dmin[r] = blk.dmin;
      uint8_t v[kQK_K];
      for (int e = 0; e < kQK_K; ++e) v[e] = static_cast<uint8_t>(low2(blk.qs, e));
      pack_low_bits(v, r, p);
      for (int g = 0; g < 16; ++g) p.scales[g / 2][r][g % 2] = blk.scales[g];
    }
  }
}

void pack_panel_q3_k(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, PanelBlockQ3_K* out) {
  for (int64_t b = 0; b < nb; ++b) {
    PanelBlockQ3_K& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < n; ++r) {
      const auto blk = load_block<BlockQ3_K>(w + (r0 + r) * w_row_bytes + b * sizeof(BlockQ3_K));
      p.d[r] = blk.d;
      uint8_t v[kQK_K];  // stored value + 4: the low bits with the hmask bit as bit 2
      for (int e = 0; e < kQK_K; ++e) v[e] = static_cast<uint8_t>(low2(blk.qs, e) | (((blk.hmask[e % 32] >> (e / 32)) & 1) << 2));
      pack_low_bits(v, r, p);
      int scales[16];
      q3_k_scales(blk.scales, scales);
      for (int g = 0; g < 16; ++g) p.scales[g / 2][r][g % 2] = static_cast<int8_t>(scales[g]);
    }
  }
}

void pack_panel_iq4_xs(const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb, PanelBlockIQ4_XS* out) {
  for (int64_t b = 0; b < nb; ++b) {
    PanelBlockIQ4_XS& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < n; ++r) {
      const auto blk = load_block<BlockIQ4_XS>(w + (r0 + r) * w_row_bytes + b * sizeof(BlockIQ4_XS));
      p.d[r] = blk.d;
      for (int ib = 0; ib < 8; ++ib) {
        p.scales[ib][r] = static_cast<int8_t>(iq4_xs_scale(blk.scales_l, blk.scales_h, ib));
        for (int k = 0; k < 16; ++k) p.q[ib][k / 4][4 * r + k % 4] = blk.qs[16 * ib + k];
      }
    }
  }
}

template <class Panel, class PackPanel>
void pack_rows(const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols, int64_t r_begin, int64_t r_end,
               uint8_t* out, PackPanel&& pack_panel) {
  const int64_t nb = cols / kQK_K;
  auto* packed = reinterpret_cast<Panel*>(out);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kKPanelRows) {
    const int n = static_cast<int>(std::min<int64_t>(kKPanelRows, rows - r0));
    pack_panel(w, w_row_bytes, r0, n, nb, packed + (r0 / kKPanelRows) * nb);
  }
}

}  // namespace

bool has_k_panel_layout(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::IQ4_XS: return true;
    default: return false;
  }
}

size_t k_panel_bytes(GgmlType type, int64_t rows, int64_t cols) {
  if (!has_k_panel_layout(type) || cols % kQK_K != 0) return 0;
  const size_t blocks =
      static_cast<size_t>((rows + kKPanelRows - 1) / kKPanelRows) * static_cast<size_t>(cols / kQK_K);
  switch (type) {
    case GgmlType::Q4_K: return blocks * sizeof(PanelBlockQ4_K);
    case GgmlType::Q5_K: return blocks * sizeof(PanelBlockQ5_K);
    case GgmlType::Q6_K: return blocks * sizeof(PanelBlockQ6_K);
    case GgmlType::Q2_K: return blocks * sizeof(PanelBlockQ2_K);
    case GgmlType::Q3_K: return blocks * sizeof(PanelBlockQ3_K);
    default: return blocks * sizeof(PanelBlockIQ4_XS);
  }
}

void k_panel_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                       int64_t r_begin, int64_t r_end, uint8_t* out) {
  switch (type) {
    case GgmlType::Q4_K:
      return pack_rows<PanelBlockQ4_K>(w, w_row_bytes, rows, cols, r_begin, r_end, out,
                                       pack_panel_q45_k<BlockQ4_K, PanelBlockQ4_K>);
    case GgmlType::Q5_K:
      return pack_rows<PanelBlockQ5_K>(w, w_row_bytes, rows, cols, r_begin, r_end, out,
                                       pack_panel_q45_k<BlockQ5_K, PanelBlockQ5_K>);
    case GgmlType::Q6_K:
      return pack_rows<PanelBlockQ6_K>(w, w_row_bytes, rows, cols, r_begin, r_end, out, pack_panel_q6_k);
    case GgmlType::Q2_K:
      return pack_rows<PanelBlockQ2_K>(w, w_row_bytes, rows, cols, r_begin, r_end, out, pack_panel_q2_k);
    case GgmlType::Q3_K:
      return pack_rows<PanelBlockQ3_K>(w, w_row_bytes, rows, cols, r_begin, r_end, out, pack_panel_q3_k);
    case GgmlType::IQ4_XS:
      return pack_rows<PanelBlockIQ4_XS>(w, w_row_bytes, rows, cols, r_begin, r_end, out, pack_panel_iq4_xs);
    default:
      return;
  }
}

}  // namespace nucleus::kernels::cpu

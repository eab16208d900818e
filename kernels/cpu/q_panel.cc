// The portable packer of the 32-element types' panel layout (q_panel.h): a
// byte transpose of 16 rows per block, used when the AVX2 kernels run, and by
// the AVX-512 path for Q5_0, Q5_1 and IQ4_NL (its Q4_0 / Q4_1 / Q8_0 vector
// packer is tested against this one).
#include "kernels/cpu/q_panel.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

// Rows [r0, r0 + live) of nb blocks into one panel; Block's qs as kGroups
// groups of 4 bytes (xor kFlip), its fifth bits (Q5_0, Q5_1) moved to qh.
template <typename Block, typename Panel, int kGroups, uint8_t kFlip>
void pack_panel(const uint8_t* w, size_t w_row_bytes, int64_t r0, int live, int64_t nb, Panel* panel) {
  constexpr bool kHasMin = requires(Panel p) { p.m; };
  constexpr bool kFifthBits = requires(Panel p) { p.qh; };
  for (int64_t b = 0; b < nb; ++b) {
    Panel p;
    std::memset(&p, 0, sizeof p);
    for (int r = 0; r < kQPanelRows; ++r) {
      Block block;
      if (r < live) {
        std::memcpy(&block, w + (r0 + r) * w_row_bytes + b * sizeof(Block), sizeof block);
      } else {
        std::memset(&block, 0, sizeof block);
      }
      for (int g = 0; g < kGroups; ++g) {
        for (int k = 0; k < 4; ++k) p.q[g][4 * r + k] = static_cast<uint8_t>(block.qs[4 * g + k] ^ kFlip);
      }
      if constexpr (kFifthBits) {
        uint32_t qh;
        std::memcpy(&qh, block.qh, sizeof qh);  // bit j: element j's fifth bit
        for (int k = 0; k < 16; ++k) {
          const uint32_t low = (qh >> k) & 1u, high = (qh >> (k + 16)) & 1u;
          p.qh[4 * r + k % 4] |= static_cast<uint8_t>((low << (k / 4)) | (high << (4 + k / 4)));
        }
      }
      p.d[r] = block.d;
      if constexpr (kHasMin) p.m[r] = block.m;
    }
    std::memcpy(panel + b, &p, sizeof p);
  }
}

}  // namespace

bool has_q_panel_layout(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q8_0:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::IQ4_NL: return true;
    default: return false;
  }
}

size_t q_panel_bytes(GgmlType type, int64_t rows, int64_t cols) {
  if (!has_q_panel_layout(type) || cols % kQK != 0) return 0;
  const size_t blocks = static_cast<size_t>((rows + kQPanelRows - 1) / kQPanelRows) * static_cast<size_t>(cols / kQK);
  switch (type) {
    case GgmlType::Q4_0: return blocks * sizeof(PanelBlockQ4_0);
    case GgmlType::Q4_1: return blocks * sizeof(PanelBlockQ4_1);
    case GgmlType::Q5_0: return blocks * sizeof(PanelBlockQ5_0);
    case GgmlType::Q5_1: return blocks * sizeof(PanelBlockQ5_1);
    case GgmlType::IQ4_NL: return blocks * sizeof(PanelBlockIQ4_NL);
    default: return blocks * sizeof(PanelBlockQ8_0);
  }
}

void q_panel_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                       int64_t r_begin, int64_t r_end, uint8_t* out) {
  const int64_t nb = cols / kQK;
  const size_t panel_bytes = q_panel_bytes(type, kQPanelRows, cols);  // one panel of nb blocks
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kQPanelRows) {
    const int live = static_cast<int>(std::min<int64_t>(kQPanelRows, rows - r0));
    q_panel_pack_panel(type, w, w_row_bytes, r0, live, nb, out + static_cast<size_t>(r0 / kQPanelRows) * panel_bytes);
  }
}

void q_panel_pack_panel(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t r0, int n, int64_t nb,
                        uint8_t* out) {
  switch (type) {
    case GgmlType::Q4_0:
      return pack_panel<BlockQ4_0, PanelBlockQ4_0, 4, 0>(w, w_row_bytes, r0, n, nb, reinterpret_cast<PanelBlockQ4_0*>(out));
    case GgmlType::Q4_1:
      return pack_panel<BlockQ4_1, PanelBlockQ4_1, 4, 0>(w, w_row_bytes, r0, n, nb, reinterpret_cast<PanelBlockQ4_1*>(out));
    case GgmlType::Q8_0:
      return pack_panel<BlockQ8_0, PanelBlockQ8_0, 8, 0x80>(w, w_row_bytes, r0, n, nb, reinterpret_cast<PanelBlockQ8_0*>(out));
    case GgmlType::Q5_0:
      return pack_panel<BlockQ5_0, PanelBlockQ5_0, 4, 0>(w, w_row_bytes, r0, n, nb, reinterpret_cast<PanelBlockQ5_0*>(out));
    case GgmlType::Q5_1:
      return pack_panel<BlockQ5_1, PanelBlockQ5_1, 4, 0>(w, w_row_bytes, r0, n, nb, reinterpret_cast<PanelBlockQ5_1*>(out));
    case GgmlType::IQ4_NL:
      return pack_panel<BlockIQ4_NL, PanelBlockIQ4_NL, 4, 0>(w, w_row_bytes, r0, n, nb,
                                                             reinterpret_cast<PanelBlockIQ4_NL*>(out));
    default: return;
  }
}

}  // namespace nucleus::kernels::cpu

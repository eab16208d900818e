// The portable packer of the Q4_0 / Q4_1 / Q8_0 panel layout (q_panel.h): a
// byte transpose of 16 rows per block, used when the AVX2 kernels run (the
// AVX-512 path has its own vector packer, tested against this one).
#include "kernels/cpu/q_panel.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/quant_blocks.h"

namespace nucleus::kernels::cpu {
namespace {

template <typename Block, typename Panel, int kGroups, bool kHasMin, uint8_t kFlip>
void pack(const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols, int64_t r_begin, int64_t r_end,
          uint8_t* out) {
  const int64_t nb = cols / kQK;
  auto* panels = reinterpret_cast<Panel*>(out);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kQPanelRows) {
    Panel* panel = panels + (r0 / kQPanelRows) * nb;
    const int live = static_cast<int>(std::min<int64_t>(kQPanelRows, rows - r0));
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
        p.d[r] = block.d;
        if constexpr (kHasMin) p.m[r] = block.m;
      }
      std::memcpy(panel + b, &p, sizeof p);
    }
  }
}

}  // namespace

bool has_q_panel_layout(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q4_1 || type == GgmlType::Q8_0;
}

size_t q_panel_bytes(GgmlType type, int64_t rows, int64_t cols) {
  if (!has_q_panel_layout(type) || cols % kQK != 0) return 0;
  const size_t blocks = static_cast<size_t>((rows + kQPanelRows - 1) / kQPanelRows) * static_cast<size_t>(cols / kQK);
  switch (type) {
    case GgmlType::Q4_0: return blocks * sizeof(PanelBlockQ4_0);
    case GgmlType::Q4_1: return blocks * sizeof(PanelBlockQ4_1);
    default: return blocks * sizeof(PanelBlockQ8_0);
  }
}

void q_panel_pack_rows(GgmlType type, const uint8_t* w, size_t w_row_bytes, int64_t rows, int64_t cols,
                       int64_t r_begin, int64_t r_end, uint8_t* out) {
  switch (type) {
    case GgmlType::Q4_0:
      return pack<BlockQ4_0, PanelBlockQ4_0, 4, false, 0>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case GgmlType::Q4_1:
      return pack<BlockQ4_1, PanelBlockQ4_1, 4, true, 0>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    case GgmlType::Q8_0:
      return pack<BlockQ8_0, PanelBlockQ8_0, 8, false, 0x80>(w, w_row_bytes, rows, cols, r_begin, r_end, out);
    default:
      return;
  }
}

}  // namespace nucleus::kernels::cpu

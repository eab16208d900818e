// pack_weight_cpu: the AVX-512 (or, AVX2 only, the 32- and 256-element types') panel layout filled in
// parallel, one range of whole panels per chunk.
#include <algorithm>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/k_panel.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/packed_weight.h"

namespace nucleus::kernels {

namespace {
constexpr int64_t kPanelRows = 16;
}  // namespace

PackedWeight pack_weight_cpu(ThreadPool& pool, const WeightView& w) {
  PackedWeight packed;
  if (!cpu::avx2_enabled() || w.data == nullptr) return packed;
  // AVX-512 packs every type it has a packed kernel for; AVX2 only the
  // 32-element types' panels (q_panel.h) and the k-quant and IQ4_XS ones
  // (k_panel.h), with the portable packers.
  const bool avx512 = cpu::avx512_enabled();
  const bool k_panel = !avx512 && cpu::has_k_panel_layout(w.type);
  const size_t bytes = avx512    ? cpu::avx512_packed_bytes(w.type, w.rows, w.cols)
                       : k_panel ? cpu::k_panel_bytes(w.type, w.rows, w.cols)
                                 : cpu::q_panel_bytes(w.type, w.rows, w.cols);
  if (bytes == 0) return packed;
  packed.data_ = allocate_host_buffer(bytes);  // panels start on a cache line; big weights on huge pages
  packed.bytes_ = bytes;
  uint8_t* out = packed.data_.get();
  const auto* src = static_cast<const uint8_t*>(w.data);
  const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
  pool.parallel_for(panels, 8, [&](int64_t p0, int64_t p1) {
    const int64_t r0 = p0 * kPanelRows, r1 = std::min(w.rows, p1 * kPanelRows);
    if (avx512) {
      cpu::avx512_pack_rows(w.type, src, w.row_bytes, w.rows, w.cols, r0, r1, out);
    } else if (k_panel) {
      cpu::k_panel_pack_rows(w.type, src, w.row_bytes, w.rows, w.cols, r0, r1, out);
    } else {
      cpu::q_panel_pack_rows(w.type, src, w.row_bytes, w.rows, w.cols, r0, r1, out);
    }
  });
  return packed;
}

}  // namespace nucleus::kernels

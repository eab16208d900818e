// pack_weight_cpu: the AVX-512 panel layout filled in parallel, one range of
// whole panels per chunk.
#include <algorithm>
#include <new>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/packed_weight.h"

namespace nucleus::kernels {

namespace {
constexpr std::align_val_t kAlignment{64};  // a cache line: panels start on one
constexpr int64_t kPanelRows = 16;
}  // namespace

void PackedWeight::AlignedDelete::operator()(uint8_t* p) const { ::operator delete[](p, kAlignment); }

PackedWeight pack_weight_cpu(ThreadPool& pool, const WeightView& w) {
  PackedWeight packed;
  if (!cpu::avx512_enabled() || w.data == nullptr) return packed;
  const size_t bytes = cpu::avx512_packed_bytes(w.type, w.rows, w.cols);
  if (bytes == 0) return packed;
  packed.data_.reset(static_cast<uint8_t*>(::operator new[](bytes, kAlignment)));
  packed.bytes_ = bytes;
  uint8_t* out = packed.data_.get();
  const auto* src = static_cast<const uint8_t*>(w.data);
  const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
  pool.parallel_for(panels, 8, [&](int64_t p0, int64_t p1) {
    cpu::avx512_pack_rows(w.type, src, w.row_bytes, w.rows, w.cols, p0 * kPanelRows,
                          std::min(w.rows, p1 * kPanelRows), out);
  });
  return packed;
}

}  // namespace nucleus::kernels

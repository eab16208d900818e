// The matmul driver: quantizes the activation rows once per call (quantize_act.h),
// picks the AVX-512 (prepacked or not), AVX2 or scalar kernel for the weight type, and splits the
// weight rows over the pool in panels of kPanelRows. Splitting by output rows
// keeps every y[t, r] on one thread with one fixed reduction order.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/quantize_act.h"

namespace nucleus::kernels::cpu {
namespace {

// Rows handed out together: a multiple of every kernel's register tile, so a
// thread boundary never cuts a tile (which would cost speed, not correctness).
constexpr int64_t kPanelRows = 16;

// Aim for at least this many weight bytes per parallel chunk so that tiny
// matmuls do not pay a thread hand-off for microseconds of work.
constexpr int64_t kMinChunkBytes = 32 * 1024;

}  // namespace

void matmul_cpu(ThreadPool& pool, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  if (T == 0) return;
  // A prepacked weight (packed_weight.h) is read in its packed form whenever
  // the AVX-512 path runs, so one weight always takes the same kernel.
  const bool prepacked = w.cpu_packed != nullptr && avx512_enabled() && avx512_prepacked_kernel(w.type) != nullptr;
  MatmulKernel kernel = prepacked ? avx512_prepacked_kernel(w.type) : nullptr;
  if (kernel == nullptr && avx512_enabled()) kernel = avx512_matmul_kernel(w.type);
  if (kernel == nullptr && avx2_enabled()) kernel = avx2_matmul_kernel(w.type);
  if (kernel == nullptr) kernel = scalar_matmul_kernel(w.type);
  if (kernel == nullptr) throw std::invalid_argument("matmul: no CPU kernel for weight type " + std::string(ggml_type_name(w.type)));

  MatmulArgs args;
  args.w = static_cast<const uint8_t*>(prepacked ? w.cpu_packed : w.data);
  args.w_row_bytes = w.row_bytes;
  args.cols = w.cols;
  args.T = T;
  args.y = y;
  args.ldy = w.rows;

  const ActFormat format = act_format(w.type);
  std::unique_ptr<uint8_t[]> quantized;
  if (format == ActFormat::kFloat) {
    args.x = reinterpret_cast<const uint8_t*>(x);
    args.x_row_bytes = static_cast<size_t>(w.cols) * sizeof(float);
  } else {
    args.x_row_bytes = act_row_bytes(format, w.cols);
    quantized = std::make_unique_for_overwrite<uint8_t[]>(args.x_row_bytes * static_cast<size_t>(T));
    uint8_t* xq = quantized.get();
    const int64_t cols = w.cols;
    const size_t x_row_bytes = args.x_row_bytes;
    pool.parallel_for(T, std::max<int64_t>(1, 16384 / cols), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        if (format == ActFormat::kQ8) {
          quantize_row_q8(x + t * cols, cols, reinterpret_cast<ActBlockQ8*>(xq + t * x_row_bytes));
        } else {
          quantize_row_q8k(x + t * cols, cols, reinterpret_cast<ActBlockQ8K*>(xq + t * x_row_bytes));
        }
      }
    });
    args.x = xq;
  }

  const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
  const int64_t panel_bytes = static_cast<int64_t>(w.row_bytes) * kPanelRows * std::max<int64_t>(T, 1);
  const int64_t grain = std::max<int64_t>(1, kMinChunkBytes / std::max<int64_t>(panel_bytes, 1));
  pool.parallel_for(panels, grain, [&](int64_t p0, int64_t p1) {
    const int64_t r0 = p0 * kPanelRows;
    const int64_t r1 = std::min(w.rows, p1 * kPanelRows);
    kernel(args, r0, r1);
    if (bias != nullptr) {
      for (int64_t t = 0; t < T; ++t) {
        float* yt = y + t * w.rows;
        for (int64_t r = r0; r < r1; ++r) yt[r] += bias[r];
      }
    }
  });
}

}  // namespace nucleus::kernels::cpu

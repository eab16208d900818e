// The matmul driver: quantizes the activation rows once per call, shared by
// every weight of a matmul_shared_input call (quantize_act.h),
// picks the AVX-512 (prepacked or not), AVX2 or scalar kernel for the weight type, and splits the
// weight rows over the pool in panels of kPanelRows. Splitting by output rows
// keeps every y[t, r] on one thread with one fixed reduction order.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

namespace {

// One weight's kernel and arguments, all but the activations.
struct Plan {
  MatmulKernel kernel = nullptr;
  MatmulArgs args;
  ActFormat format = ActFormat::kFloat;
  const float* bias = nullptr;
  int64_t rows = 0;
  int64_t panels = 0;
};

Plan plan_for(const WeightView& w, int64_t T, float* y, const float* bias) {
  // A prepacked weight (packed_weight.h) is read in its packed form whenever
  // a path with a kernel for it runs, so one weight always takes the same kernel.
  MatmulKernel packed_kernel = nullptr;
  if (w.cpu_packed != nullptr && avx512_enabled()) {
    packed_kernel = avx512_prepacked_kernel(w.type);
  } else if (w.cpu_packed != nullptr && avx2_enabled()) {
    packed_kernel = avx2_q_panel_kernel(w.type);  // the 32-element types' panels (q_panel.h)
    if (packed_kernel == nullptr) packed_kernel = avx2_k_panel_kernel(w.type);  // the k-quants, IQ4_XS (k_panel.h)
  }
  const bool prepacked = packed_kernel != nullptr;
  Plan p;
  p.kernel = packed_kernel;
  if (p.kernel == nullptr && avx512_enabled()) p.kernel = avx512_matmul_kernel(w.type);
  if (p.kernel == nullptr && avx2_enabled()) p.kernel = avx2_matmul_kernel(w.type);
  if (p.kernel == nullptr) p.kernel = scalar_matmul_kernel(w.type);
  if (p.kernel == nullptr) throw std::invalid_argument("matmul: no CPU kernel for weight type " + std::string(ggml_type_name(w.type)));
  p.args.w = static_cast<const uint8_t*>(prepacked ? w.cpu_packed : w.data);
  p.args.w_row_bytes = w.row_bytes;
  p.args.cols = w.cols;
  p.args.T = T;
  p.args.y = y;
  p.args.ldy = w.rows;
  p.format = act_format(w.type);
  p.bias = bias;
  p.rows = w.rows;
  p.panels = (w.rows + kPanelRows - 1) / kPanelRows;
  return p;
}

// x[T, cols] in `format`: x itself for float kernels, else quantized rows in
// `storage` (quantize_act.h), quantized on the pool.
const uint8_t* activations(ThreadPool& pool, ActFormat format, const float* x, int64_t T, int64_t cols,
                           std::unique_ptr<uint8_t[]>& storage, size_t* row_bytes) {
  if (format == ActFormat::kFloat) {
    *row_bytes = static_cast<size_t>(cols) * sizeof(float);
    return reinterpret_cast<const uint8_t*>(x);
  }
  const size_t x_row_bytes = act_row_bytes(format, cols);
  *row_bytes = x_row_bytes;
  storage = std::make_unique_for_overwrite<uint8_t[]>(x_row_bytes * static_cast<size_t>(T));
  uint8_t* xq = storage.get();
  pool.parallel_for(T, std::max<int64_t>(1, 16384 / cols), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (format == ActFormat::kQ8) {
        quantize_row_q8(x + t * cols, cols, reinterpret_cast<ActBlockQ8*>(xq + t * x_row_bytes));
      } else {
        quantize_row_q8k(x + t * cols, cols, reinterpret_cast<ActBlockQ8K*>(xq + t * x_row_bytes));
      }
    }
  });
  return xq;
}

// Rows [r0, r1) of one weight for all T rows of x, then its bias.
void run_rows(const Plan& p, int64_t r0, int64_t r1) {
  p.kernel(p.args, r0, r1);
  if (p.bias == nullptr) return;
  for (int64_t t = 0; t < p.args.T; ++t) {
    float* yt = p.args.y + t * p.rows;
    for (int64_t r = r0; r < r1; ++r) yt[r] += p.bias[r];
  }
}

// The panels of every plan as one index space, split over the pool; a chunk
// may span two weights. Each output row is computed by one kernel call on
// its own panel, so results do not depend on how the space is cut.
void run_plans(ThreadPool& pool, const std::vector<Plan>& plans) {
  int64_t panels = 0, bytes = 0;
  for (const Plan& p : plans) {
    panels += p.panels;
    bytes += static_cast<int64_t>(p.args.w_row_bytes) * p.rows * std::max<int64_t>(p.args.T, 1);
  }
  const int64_t panel_bytes = std::max<int64_t>(1, bytes / std::max<int64_t>(panels, 1));
  const int64_t grain = std::max<int64_t>(1, kMinChunkBytes / panel_bytes);
  pool.parallel_for(panels, grain, [&](int64_t c0, int64_t c1) {
    int64_t first = 0;  // first panel index of plans[i]
    for (const Plan& p : plans) {
      const int64_t lo = std::max(c0, first), hi = std::min(c1, first + p.panels);
      if (lo < hi) run_rows(p, (lo - first) * kPanelRows, std::min(p.rows, (hi - first) * kPanelRows));
      first += p.panels;
    }
  });
}

}  // namespace

void matmul_cpu(ThreadPool& pool, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  const MatmulOutput one{w, y, bias};
  matmul_shared_input_cpu(pool, x, T, &one, 1);
}

void matmul_shared_input_cpu(ThreadPool& pool, const float* x, int64_t T, const MatmulOutput* outputs, int count) {
  if (T == 0 || count == 0) return;
  std::vector<Plan> plans;
  plans.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) plans.push_back(plan_for(outputs[i].w, T, outputs[i].y, outputs[i].bias));
  // x is quantized once per activation format the weights need (usually one).
  const int64_t cols = outputs[0].w.cols;
  constexpr int kFormats = static_cast<int>(ActFormat::kQ8K) + 1;  // one slot per ActFormat
  std::unique_ptr<uint8_t[]> storage[kFormats];
  const uint8_t* xs[kFormats] = {};
  size_t row_bytes[kFormats] = {};
  for (Plan& p : plans) {
    const int f = static_cast<int>(p.format);
    if (xs[f] == nullptr) xs[f] = activations(pool, p.format, x, T, cols, storage[f], &row_bytes[f]);
    p.args.x = xs[f];
    p.args.x_row_bytes = row_bytes[f];
  }
  run_plans(pool, plans);
}

}  // namespace nucleus::kernels::cpu

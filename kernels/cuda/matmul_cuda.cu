// Linear layers on CUDA through cuBLAS: y[T, rows] = x[T, cols] * w^T with FP32
// accumulation. Host weights (the mmap'd GGUF) are read from their fp16 copy in
// ctx.weights (kernels/device_weights.h, uploaded when the model registered
// them); device weights are F32 (SGEMM-equivalent GemmEx, no TF32) or F16.
//
// fp16 GEMMs take the activations as fp16 too, each row scaled by a power of
// two that keeps it inside fp16's range (ops_math.h::fp16_scale_exponent; 1
// for every row that fits, so those are rounded exactly as without scaling),
// and the epilogue multiplies each output row back and adds the bias. So no
// activation overflows to inf, whatever the model (docs/cuda.md).
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_buffer.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/ops_math.h"
#include "kernels/cuda/weights_cuda.h"

namespace nucleus::kernels::cuda {
namespace {

// Per-thread cuBLAS handle and activation scratch (the engine thread owns one set).
struct GemmState {
  cublasHandle_t handle = nullptr;
  CudaBuffer<__half> x_half;    // [T, cols] scaled activations
  CudaBuffer<float> row_scale;  // [T] 2^k of each row
  ~GemmState() {
    if (handle != nullptr) cublasDestroy(handle);
  }
};

GemmState& state() {
  thread_local GemmState s;
  if (s.handle == nullptr) {
    NUCLEUS_CUBLAS_CHECK(cublasCreate(&s.handle));
    // Default math: no TF32 for F32 inputs, FP32 accumulation everywhere.
    NUCLEUS_CUBLAS_CHECK(cublasSetMathMode(s.handle, CUBLAS_DEFAULT_MATH));
  }
  return s;
}

constexpr int kRowThreads = 256;

// One block per row: the row's largest |x| picks its power-of-two scale, then
// every element is divided by it (exact) and rounded to fp16.
__global__ void to_half_scaled_kernel(const float* x, int64_t cols, __half* out, float* row_scale) {
  __shared__ float red[32];
  const float* xt = x + static_cast<int64_t>(blockIdx.x) * cols;
  __half* ot = out + static_cast<int64_t>(blockIdx.x) * cols;
  float amax = 0.0f;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) amax = fmaxf(amax, fabsf(xt[i]));
  amax = block_reduce(amax, MaxOp{}, 0.0f, red);
  const int k = fp16_scale_exponent(amax);
  const float down = ldexpf(1.0f, -k);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) ot[i] = __float2half_rn(xt[i] * down);
  if (threadIdx.x == 0) row_scale[blockIdx.x] = ldexpf(1.0f, k);
}

// y[t, r] = y[t, r] * row_scale[t] (+ bias[r]).
__global__ void epilogue_kernel(float* y, const float* row_scale, const float* bias, int64_t rows, int64_t count) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  float v = y[i] * row_scale[i / rows];
  if (bias != nullptr) v += bias[i % rows];
  y[i] = v;
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t count) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) y[i] += bias[i % rows];
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>((count + 255) / 256); }

// x rounded to fp16 with per-row scales into the state's scratch.
void convert_activations(GemmState& s, const float* x, int64_t T, int64_t cols) {
  s.x_half.resize(static_cast<size_t>(T * cols));
  s.row_scale.resize(static_cast<size_t>(T));
  to_half_scaled_kernel<<<static_cast<unsigned>(T), kRowThreads>>>(x, cols, s.x_half.data(), s.row_scale.data());
  NUCLEUS_CUDA_CHECK_LAUNCH("to_half_scaled_kernel");
}

// One weight's GEMM. x16_ready: the state's scratch already holds x converted
// (by an earlier weight of the same shared input). Returns whether it does now.
bool gemm_one(const Context& ctx, GemmState& s, const WeightView& w, const float* x, bool x16_ready, int64_t T,
              float* y, const float* bias, const char* op) {
  const float alpha = 1.0f, beta = 0.0f;
  // Row-major y[T, rows] = x[T, cols] * w[rows, cols]^T is, column-major,
  // y^T[rows, T] = op(A) * B with A = w seen as cols x rows (so op = T), B = x as cols x T.
  const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
  const float* b = bias != nullptr ? device_floats(ctx, bias, w.rows, op) : nullptr;
  const uint16_t* w16 = gemm_weight_fp16(ctx, w, op);
  if (w16 == nullptr) {  // a device F32 weight: F32 inputs, no scaling needed
    NUCLEUS_CUBLAS_CHECK(cublasGemmEx(s.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_32F, k, x,
                                      CUDA_R_32F, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (b != nullptr) {
      add_bias_kernel<<<blocks_for(T * w.rows), 256>>>(y, b, w.rows, T * w.rows);
      NUCLEUS_CUDA_CHECK_LAUNCH("add_bias_kernel");
    }
    return x16_ready;
  }
  if (!x16_ready) convert_activations(s, x, T, w.cols);
  NUCLEUS_CUBLAS_CHECK(cublasGemmEx(s.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w16, CUDA_R_16F, k,
                                    s.x_half.data(), CUDA_R_16F, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));
  epilogue_kernel<<<blocks_for(T * w.rows), 256>>>(y, s.row_scale.data(), b, w.rows, T * w.rows);
  NUCLEUS_CUDA_CHECK_LAUNCH("epilogue_kernel");
  return true;
}

}  // namespace

void matmul_cuda(const Context& ctx, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  if (T == 0) return;
  gemm_one(ctx, state(), w, x, false, T, y, bias, "matmul");
}

void matmul_shared_input_cuda(const Context& ctx, const float* x, int64_t T, const MatmulOutput* outputs, int count) {
  if (T == 0) return;
  GemmState& s = state();
  // x is converted to fp16 once, by the first output that reads fp16, for all of them.
  bool x16_ready = false;
  for (int i = 0; i < count; ++i) {
    x16_ready = gemm_one(ctx, s, outputs[i].w, x, x16_ready, T, outputs[i].y, outputs[i].bias, "matmul_shared_input");
  }
}

}  // namespace nucleus::kernels::cuda

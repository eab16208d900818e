// Linear layers on CUDA through cuBLAS: y[T, rows] = x[T, cols] * w^T with FP32
// accumulation. Device weights are F32 (SGEMM-equivalent GemmEx) or F16; host
// weights of any type (the mmap'd GGUF) are dequantized to F16 once, at their
// first use (weights_cuda.h). For F16 weights the activations are rounded to
// F16 for the GEMM (tensor cores, FP32 accumulation and output).
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_buffer.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/weights_cuda.h"

namespace nucleus::kernels::cuda {
namespace {

// Per-thread cuBLAS handle and activation scratch (the engine thread owns one set).
struct GemmState {
  cublasHandle_t handle = nullptr;
  CudaBuffer<__half> x_half;
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

__global__ void to_half_kernel(const float* x, int64_t n, __half* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2half_rn(x[i]);
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t count) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) y[i] += bias[i % rows];
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>((count + 255) / 256); }

}  // namespace

void matmul_cuda(const Context&, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  if (T == 0) return;
  GemmState& s = state();
  const float alpha = 1.0f, beta = 0.0f;
  // Row-major y[T, rows] = x[T, cols] * w[rows, cols]^T is, column-major,
  // y^T[rows, T] = op(A) * B with A = w seen as cols x rows (so op = T), B = x as cols x T.
  const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
  if (w.type == GgmlType::F32 && is_device_pointer(w.data)) {
    NUCLEUS_CUBLAS_CHECK(cublasGemmEx(s.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_32F, k, x,
                                      CUDA_R_32F, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
  } else {
    const uint16_t* w16 = device_weight_fp16(w);  // device F16 as is, host anything uploaded once
    s.x_half.resize(static_cast<size_t>(T * w.cols));
    to_half_kernel<<<blocks_for(T * w.cols), 256>>>(x, T * w.cols, s.x_half.data());
    NUCLEUS_CUDA_CHECK_LAUNCH("to_half_kernel");
    NUCLEUS_CUBLAS_CHECK(cublasGemmEx(s.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w16, CUDA_R_16F, k,
                                      s.x_half.data(), CUDA_R_16F, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
  }
  if (bias != nullptr) {
    const float* b = device_floats(bias, w.rows);
    add_bias_kernel<<<blocks_for(T * w.rows), 256>>>(y, b, w.rows, T * w.rows);
    NUCLEUS_CUDA_CHECK_LAUNCH("add_bias_kernel");
  }
}

void matmul_shared_input_cuda(const Context& ctx, const float* x, int64_t T, const MatmulOutput* outputs, int count) {
  // One GEMM each: the device path has no per-call quantization or hand-off to share.
  for (int i = 0; i < count; ++i) matmul_cuda(ctx, outputs[i].w, x, T, outputs[i].y, outputs[i].bias);
}

}  // namespace nucleus::kernels::cuda

// Linear layers on CUDA through cuBLAS: y[T, rows] = x[T, cols] * w^T with
// FP32 accumulation. Weights are F32, or F16 (GGUF's quantized types are
// dequantized to F16 once, at upload); activations are FP32 and converted to
// F16 for the F16 GEMM.
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace nucleus::kernels::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* call, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(call) + " failed at matmul_cuda.cu:" + std::to_string(line) + ": " +
                             cublasGetStatusString(status));
  }
}
#define NUCLEUS_CUBLAS_CHECK(call) check_cublas((call), #call, __LINE__)

cublasHandle_t handle() {
  static std::once_flag once;
  static cublasHandle_t h = nullptr;
  std::call_once(once, [] { NUCLEUS_CUBLAS_CHECK(cublasCreate(&h)); });
  return h;
}

__global__ void to_half_kernel(const float* x, int64_t n, __half* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2half(x[i]);
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t count) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) y[i] += bias[i % rows];
}

}  // namespace

void matmul_cuda(const Context&, const WeightView& w, const float* x, int64_t T, float* y, const float* bias) {
  if (T == 0) return;
  if (w.type != GgmlType::F32 && w.type != GgmlType::F16) {
    throw std::runtime_error("matmul on CUDA takes F32 or F16 weights in device memory; upload " +
                             std::string(ggml_type_name(w.type)) + " weights dequantized to F16");
  }
  const float alpha = 1.0f, beta = 0.0f;
  // Row-major y[T, rows] = x[T, cols] * w[rows, cols]^T is, column-major,
  // y^T[rows, T] = w^T... i.e. C = op(A) * B with A = w (cols x rows, transposed), B = x (cols x T).
  const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
  if (w.type == GgmlType::F32) {
    NUCLEUS_CUBLAS_CHECK(cublasGemmEx(handle(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_32F, k, x,
                                      CUDA_R_32F, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
  } else {
    __half* xh = nullptr;
    NUCLEUS_CUDA_CHECK(cudaMalloc(&xh, static_cast<size_t>(T * w.cols) * sizeof(__half)));
    to_half_kernel<<<static_cast<unsigned>((T * w.cols + 255) / 256), 256>>>(x, T * w.cols, xh);
    const cudaError_t launch = cudaGetLastError();
    const cublasStatus_t status =
        launch == cudaSuccess
            ? cublasGemmEx(handle(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_16F, k, xh, CUDA_R_16F,
                           k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
            : CUBLAS_STATUS_EXECUTION_FAILED;
    cudaFree(xh);
    NUCLEUS_CUDA_CHECK(launch);
    NUCLEUS_CUBLAS_CHECK(status);
  }
  if (bias) {
    add_bias_kernel<<<static_cast<unsigned>((T * w.rows + 255) / 256), 256>>>(y, bias, w.rows, T * w.rows);
    NUCLEUS_CUDA_CHECK(cudaGetLastError());
  }
  NUCLEUS_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace nucleus::kernels::cuda

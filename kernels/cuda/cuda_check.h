// Every CUDA runtime and cuBLAS call goes through these: a failure throws
// std::runtime_error naming the call, the file:line and the library's message,
// e.g. "cudaMalloc(&p, n) failed at kernels/cuda/cuda_buffer.h:40: cudaErrorMemoryAllocation: out of memory".
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace nucleus::kernels::cuda {

inline void check_cuda(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                             cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
  }
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                             cublasGetStatusName(status) + ": " + cublasGetStatusString(status));
  }
}

}  // namespace nucleus::kernels::cuda

#define NUCLEUS_CUDA_CHECK(call) ::nucleus::kernels::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define NUCLEUS_CUBLAS_CHECK(call) ::nucleus::kernels::cuda::check_cublas((call), #call, __FILE__, __LINE__)
// After a kernel launch: a bad launch configuration is reported at once, naming the
// kernel (faults inside the kernel surface at the next synchronising checked call).
#define NUCLEUS_CUDA_CHECK_LAUNCH(kernel) \
  ::nucleus::kernels::cuda::check_cuda(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)

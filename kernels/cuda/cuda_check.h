// Every CUDA runtime and cuBLAS call goes through these: a failure throws
// std::runtime_error naming the call, the file:line and the library's message.
#pragma once

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

}  // namespace nucleus::kernels::cuda

#define NUCLEUS_CUDA_CHECK(call) ::nucleus::kernels::cuda::check_cuda((call), #call, __FILE__, __LINE__)

// RAII device memory: a typed, move-only owner of one cudaMalloc allocation.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "kernels/cuda/cuda_check.h"

namespace nucleus::kernels::cuda {

template <typename T>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  explicit CudaBuffer(size_t count) { resize(count); }
  ~CudaBuffer() { reset(); }
  CudaBuffer(CudaBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  // Discards the contents; reallocates only when growing.
  void resize(size_t count) {
    if (count <= count_ && ptr_ != nullptr) return;
    reset();
    if (count == 0) return;
    void* p = nullptr;
    NUCLEUS_CUDA_CHECK(cudaMalloc(&p, count * sizeof(T)));
    ptr_ = static_cast<T*>(p);
    count_ = count;
  }
  void reset() noexcept {
    if (ptr_ != nullptr) cudaFree(ptr_);  // not checked: destructors must not throw
    ptr_ = nullptr;
    count_ = 0;
  }

  // Synchronous copies (any pointer kind: cudaMemcpyDefault with unified addressing).
  void upload(const T* host, size_t count) {
    resize(count);
    if (count > 0) NUCLEUS_CUDA_CHECK(cudaMemcpy(ptr_, host, count * sizeof(T), cudaMemcpyDefault));
  }
  void download(T* host, size_t count) const {
    if (count > 0) NUCLEUS_CUDA_CHECK(cudaMemcpy(host, ptr_, count * sizeof(T), cudaMemcpyDefault));
  }

  T* data() const { return ptr_; }
  size_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

}  // namespace nucleus::kernels::cuda

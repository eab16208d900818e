#include "kernels/device.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#ifdef NUCLEUS_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#endif

namespace nucleus::kernels {

bool cuda_available(std::string* why) {
#ifdef NUCLEUS_HAVE_CUDA
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (why) *why = std::string("no CUDA device: ") + (err != cudaSuccess ? cudaGetErrorString(err) : "none found");
    return false;
  }
  return true;
#else
  if (why) *why = "nucleus was built without CUDA (configure with -DNUCLEUS_CUDA=ON)";
  return false;
#endif
}

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

DeviceBuffer::DeviceBuffer(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (device == Device::kCpu) {
    data_ = std::malloc(bytes == 0 ? 1 : bytes);
    if (!data_) throw std::bad_alloc();
    return;
  }
#ifdef NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMalloc(&data_, bytes == 0 ? 1 : bytes));
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

DeviceBuffer::~DeviceBuffer() {
  if (device_ == Device::kCpu) {
    std::free(data_);
    return;
  }
#ifdef NUCLEUS_HAVE_CUDA
  cudaFree(data_);  // no check: destructors must not throw
#endif
}

void DeviceBuffer::upload(const void* host, size_t bytes) {
  if (bytes > bytes_) throw std::out_of_range("DeviceBuffer::upload: more bytes than the buffer holds");
  if (device_ == Device::kCpu) {
    std::memcpy(data_, host, bytes);
    return;
  }
#ifdef NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice));
#endif
}

void DeviceBuffer::download(void* host, size_t bytes) const {
  if (bytes > bytes_) throw std::out_of_range("DeviceBuffer::download: more bytes than the buffer holds");
  if (device_ == Device::kCpu) {
    std::memcpy(host, data_, bytes);
    return;
  }
#ifdef NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost));
#endif
}

}  // namespace nucleus::kernels

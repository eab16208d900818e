// Which devices this build and machine can run ops on, and plain device
// buffers for tests and tools. Compiled in every build: without CUDA,
// cuda_available() says why and DeviceBuffer only knows the CPU.
#pragma once

#include <cstddef>
#include <string>

#include "kernels/ops.h"

namespace nucleus::kernels {

// True when a CUDA device can be used; otherwise *why (if given) says why not
// ("nucleus was built without CUDA", "no CUDA device: ...").
bool cuda_available(std::string* why = nullptr);

const char* device_name(Device device);  // "cpu", "cuda"

// Memory on one device: host memory for kCpu, cudaMalloc'ed for kCuda.
class DeviceBuffer {
 public:
  DeviceBuffer(Device device, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() { return data_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  void upload(const void* host, size_t bytes);  // host -> this buffer
  void download(void* host, size_t bytes) const;  // this buffer -> host

 private:
  Device device_;
  size_t bytes_;
  void* data_ = nullptr;
};

}  // namespace nucleus::kernels

// Which devices this build and machine can run ops on, and plain device
// buffers for tests and tools. Compiled in every build: without CUDA,
// cuda_available() says why and DeviceBuffer only knows the CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/host_memory.h"
#include "kernels/ops.h"

namespace nucleus::kernels {

// True when a CUDA device can be used; otherwise *why (if given) says why not
// ("nucleus was built without CUDA", "no CUDA device: ...").
bool cuda_available(std::string* why = nullptr);

const char* device_name(Device device);  // "cpu", "cuda"

// What a --device choice resolves to on this build and machine.
struct DeviceChoice {
  Device device = Device::kCpu;
  std::string reason;  // one line for the log: which device and why ("auto: CUDA unavailable (...), using the CPU")
};
// choice: "cpu", "cuda" or "auto" (CUDA when cuda_available(), else the CPU).
// Throws std::invalid_argument for another name and std::runtime_error for
// "cuda" when CUDA is unavailable; both messages name --device and say why.
DeviceChoice choose_device(const std::string& choice);
// Same, with the availability probe injected (tests).
DeviceChoice choose_device(const std::string& choice, bool cuda_ok, const std::string& cuda_why);

// Empty while `device` can still run work; otherwise why not. A CUDA error
// that poisons the context (an illegal address, a launch failure: "sticky"
// errors) makes every later call fail, so the process must stop using the
// device; an ordinary error (out of memory, a bad argument) leaves it usable.
// The CPU is always usable.
std::string device_failure(Device device);

// Device-to-device copy of `bytes` between non-overlapping ranges of memory on `device`.
void device_copy(Device device, void* dst, const void* src, size_t bytes);

// Host-to-device copy of `bytes` to any address of `device`'s memory.
void device_upload(Device device, void* dst, const void* host, size_t bytes);

// Device-to-host copy of `bytes` from any address of `device`'s memory.
void device_download(Device device, void* host, const void* src, size_t bytes);

// Free bytes of `device`'s own memory (CUDA: cudaMemGetInfo); -1 for the CPU,
// whose budget is the host's free RAM.
int64_t device_free_bytes(Device device);

// Waits until the work queued on `device` is done (CUDA runs asynchronously; a no-op on the CPU).
void device_synchronize(Device device);

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
  HostBuffer host_;  // the CPU's storage (a KV cache: huge pages when large, host_memory.h)
};

}  // namespace nucleus::kernels

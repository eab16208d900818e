#include "kernels/device.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "kernels/build_config.h"
#include "kernels/cuda_arch.h"

#if NUCLEUS_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#endif

namespace nucleus::kernels {

bool cuda_available(std::string* why) {
#if NUCLEUS_HAVE_CUDA
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    if (why) *why = std::string("no CUDA device: ") + (err != cudaSuccess ? cudaGetErrorString(err) : "none found");
    return false;
  }
  // The engine runs on the current device (0 unless CUDA_VISIBLE_DEVICES says otherwise).
  cudaDeviceProp props{};
  const cudaError_t prop_err = cudaGetDeviceProperties(&props, 0);
  if (prop_err != cudaSuccess) {
    if (why) *why = std::string("CUDA device 0: ") + cudaGetErrorString(prop_err);
    return false;
  }
  std::string arch_why;
  if (!cuda_architectures_run_on(parse_cuda_architectures(NUCLEUS_CUDA_ARCHS), props.major, props.minor, &arch_why)) {
    if (why) *why = "CUDA device 0 (" + std::string(props.name) + ") cannot run this build: " + arch_why;
    return false;
  }
  return true;
#else
  if (why) *why = "nucleus was built without CUDA (configure with -DNUCLEUS_CUDA=ON)";
  return false;
#endif
}

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

DeviceChoice choose_device(const std::string& choice, bool cuda_ok, const std::string& cuda_why) {
  if (choice == "cpu") return {Device::kCpu, "device: cpu (--device cpu)"};
  if (choice == "cuda") {
    if (!cuda_ok) throw std::runtime_error("--device cuda: CUDA is unavailable: " + cuda_why);
    return {Device::kCuda, "device: cuda (--device cuda)"};
  }
  if (choice == "auto") {
    if (cuda_ok) return {Device::kCuda, "device: cuda (--device auto: a CUDA device is present)"};
    return {Device::kCpu, "device: cpu (--device auto: CUDA unavailable: " + cuda_why + ")"};
  }
  throw std::invalid_argument("--device must be cpu, cuda or auto, got '" + choice + "'");
}

DeviceChoice choose_device(const std::string& choice) {
  std::string why;
  // Probe only when the answer matters: "cpu" must not touch the CUDA runtime.
  const bool ok = choice != "cpu" && cuda_available(&why);
  return choose_device(choice, ok, why);
}

std::string device_failure(Device device) {
  if (device == Device::kCpu) return "";
#if NUCLEUS_HAVE_CUDA
  // The first synchronize reports (and, if it is not sticky, clears) the error
  // of any earlier asynchronous launch; only a sticky one survives to the second.
  (void)cudaGetLastError();
  if (cudaDeviceSynchronize() == cudaSuccess) return "";
  (void)cudaGetLastError();
  const cudaError_t err = cudaDeviceSynchronize();
  return err == cudaSuccess ? "" : std::string("CUDA: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
#else
  return "unsupported device: nucleus was built without CUDA";
#endif
}

void device_copy(Device device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (device == Device::kCpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

void device_upload(Device device, void* dst, const void* host, size_t bytes) {
  if (bytes == 0) return;
  if (device == Device::kCpu) {
    std::memcpy(dst, host, bytes);
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice));
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

void device_download(Device device, void* host, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (device == Device::kCpu) {
    std::memcpy(host, src, bytes);
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(host, src, bytes, cudaMemcpyDeviceToHost));
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

int64_t device_free_bytes(Device device) {
  if (device == Device::kCpu) return -1;
#if NUCLEUS_HAVE_CUDA
  size_t free = 0, total = 0;
  NUCLEUS_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return static_cast<int64_t>(free);
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

void device_synchronize(Device device) {
  if (device == Device::kCpu) return;
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaDeviceSynchronize());
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

DeviceBuffer::DeviceBuffer(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (device == Device::kCpu) {
    host_ = allocate_host_buffer(bytes);
    data_ = host_.get();
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMalloc(&data_, bytes == 0 ? 1 : bytes));
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

DeviceBuffer::~DeviceBuffer() {
  if (device_ == Device::kCpu) return;  // host_ frees itself
#if NUCLEUS_HAVE_CUDA
  cudaFree(data_);  // no check: destructors must not throw
#endif
}

void DeviceBuffer::upload(const void* host, size_t bytes) {
  if (bytes > bytes_) throw std::out_of_range("DeviceBuffer::upload: more bytes than the buffer holds");
  if (device_ == Device::kCpu) {
    std::memcpy(data_, host, bytes);
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice));
#endif
}

void DeviceBuffer::download(void* host, size_t bytes) const {
  if (bytes > bytes_) throw std::out_of_range("DeviceBuffer::download: more bytes than the buffer holds");
  if (device_ == Device::kCpu) {
    std::memcpy(host, data_, bytes);
    return;
  }
#if NUCLEUS_HAVE_CUDA
  NUCLEUS_CUDA_CHECK(cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost));
#endif
}

}  // namespace nucleus::kernels

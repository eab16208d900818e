// The device copies of one model's weights, made when the model registers
// them and freed with their owner (the model). On CUDA the ops find a host
// weight's copy here, through Context::weights; a host weight nobody
// registered is an error, never a silent upload.
//
// Why an owner per model and not a cache by host address: a cache outlives
// the memory it was keyed by. A freed and reallocated host buffer at the same
// address (glibc hands it back) then finds the copy of the old contents, and
// a global cache cleared by one model's destructor drops every model's
// copies. Here a registration lives exactly as long as its owner, and the
// owner's contract is the model's: the host weights outlive it.
//
// Matrices are stored as fp16 [rows, cols] row-major: every row dequantized
// with dequantize_row (the CPU's golden-tested code) and rounded to nearest
// even (float_to_fp16), rows converted in parallel over a thread pool at
// registration (the model registers at load, so no request pays for it).
// 1-D floats (norms, biases) are copied as they are.
//
// The memory they go to is a DeviceMemory: cudaMalloc'ed on CUDA, host memory
// standing in for a device in the CPU tests, so all of this runs without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "kernels/ops.h"

namespace nucleus::kernels {

// Where device copies live.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) noexcept = 0;
  // Copies `bytes` of host memory to `dst` (returned by allocate) before returning.
  virtual void upload(void* dst, const void* host, size_t bytes) = 0;
};

// Memory of `device`: cudaMalloc for kCuda (throws in a build without CUDA),
// plain host memory for kCpu (the tests' stand-in for a device).
std::unique_ptr<DeviceMemory> make_device_memory(Device device);

class DeviceWeights {
 public:
  explicit DeviceWeights(std::unique_ptr<DeviceMemory> memory);
  ~DeviceWeights();
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  // Uploads w as fp16, converting its rows over `pool` (null: on this thread;
  // the bytes are the same). Registering the same view again is a no-op (tied
  // embeddings); the same address with another type or shape throws
  // std::invalid_argument.
  void add_matrix(const WeightView& w, ThreadPool* pool);
  // Uploads host[0, n); the same address again with n no larger is a no-op.
  void add_floats(const float* host, int64_t n);

  // The fp16 copy of w (registered with the same address, type and shape), or
  // null when w's address was never registered. Throws std::invalid_argument
  // when it was, with another type or shape.
  const uint16_t* matrix(const WeightView& w) const;
  // The copy of host[0, n), or null when host was never registered; throws
  // std::invalid_argument when it was registered with fewer than n floats.
  const float* floats(const float* host, int64_t n) const;

  size_t bytes() const { return bytes_; }  // device memory held

 private:
  struct Matrix {
    GgmlType type;
    int64_t rows, cols;
    void* data;
  };
  struct Floats {
    int64_t n;
    void* data;
  };
  std::unique_ptr<DeviceMemory> memory_;
  std::unordered_map<const void*, Matrix> matrices_;
  std::unordered_map<const float*, Floats> floats_;
  size_t bytes_ = 0;
};

}  // namespace nucleus::kernels

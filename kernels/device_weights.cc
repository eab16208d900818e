#include "kernels/device_weights.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/build_config.h"
#include "kernels/fp16.h"
#include "kernels/ggml_types.h"
#include "kernels/thread_pool.h"

#if NUCLEUS_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#endif

namespace nucleus::kernels {
namespace {

class HostMemory final : public DeviceMemory {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::malloc(std::max<size_t>(bytes, 1));
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void release(void* p) noexcept override { std::free(p); }
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }
};

#if NUCLEUS_HAVE_CUDA
class CudaMemory final : public DeviceMemory {
 public:
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    NUCLEUS_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(bytes, 1)));
    return p;
  }
  void release(void* p) noexcept override { cudaFree(p); }  // not checked: called from destructors
  void upload(void* dst, const void* host, size_t bytes) override {
    NUCLEUS_CUDA_CHECK(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice));
  }
};
#endif

std::string shape_of(GgmlType type, int64_t rows, int64_t cols) {
  return std::string(ggml_type_name(type)) + " [" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// Host staging per upload: about 4M fp16 values, whole rows.
constexpr int64_t kStagingElements = int64_t{1} << 22;

}  // namespace

std::unique_ptr<DeviceMemory> make_device_memory(Device device) {
  if (device == Device::kCpu) return std::make_unique<HostMemory>();
#if NUCLEUS_HAVE_CUDA
  return std::make_unique<CudaMemory>();
#else
  throw std::runtime_error("unsupported device: nucleus was built without CUDA");
#endif
}

DeviceWeights::DeviceWeights(std::unique_ptr<DeviceMemory> memory) : memory_(std::move(memory)) {
  if (!memory_) throw std::invalid_argument("DeviceWeights: memory is null");
}

DeviceWeights::~DeviceWeights() {
  for (auto& [host, m] : matrices_) memory_->release(m.data);
  for (auto& [host, f] : floats_) memory_->release(f.data);
}

void DeviceWeights::add_matrix(const WeightView& w, ThreadPool* pool) {
  if (w.data == nullptr || w.rows <= 0 || w.cols <= 0) {
    throw std::invalid_argument("DeviceWeights::add_matrix: empty weight view");
  }
  if (auto it = matrices_.find(w.data); it != matrices_.end()) {
    const Matrix& m = it->second;
    if (m.type == w.type && m.rows == w.rows && m.cols == w.cols) return;
    throw std::invalid_argument("DeviceWeights::add_matrix: address already registered as " +
                                shape_of(m.type, m.rows, m.cols) + ", now " + shape_of(w.type, w.rows, w.cols));
  }
  const size_t total_bytes = static_cast<size_t>(w.rows * w.cols) * sizeof(uint16_t);
  void* device = memory_->allocate(total_bytes);
  try {
    const int64_t chunk_rows = std::max<int64_t>(1, kStagingElements / w.cols);
    std::vector<uint16_t> staging;
    const auto* src = static_cast<const uint8_t*>(w.data);
    for (int64_t r0 = 0; r0 < w.rows; r0 += chunk_rows) {
      const int64_t r1 = std::min(w.rows, r0 + chunk_rows);
      staging.resize(static_cast<size_t>((r1 - r0) * w.cols));
      // Each row is converted whole by one thread: the bytes do not depend on the pool.
      const auto convert = [&](int64_t begin, int64_t end) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (int64_t r = r0 + begin; r < r0 + end; ++r) {
          dequantize_row(w.type, src + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
          uint16_t* dst = staging.data() + (r - r0) * w.cols;
          for (int64_t c = 0; c < w.cols; ++c) dst[c] = float_to_fp16(row[static_cast<size_t>(c)]);
        }
      };
      if (pool != nullptr) {
        pool->parallel_for(r1 - r0, 16, convert);
      } else {
        convert(0, r1 - r0);
      }
      memory_->upload(static_cast<uint16_t*>(device) + r0 * w.cols, staging.data(), staging.size() * sizeof(uint16_t));
    }
  } catch (...) {
    memory_->release(device);
    throw;
  }
  matrices_.emplace(w.data, Matrix{w.type, w.rows, w.cols, device});
  bytes_ += total_bytes;
}

void DeviceWeights::add_floats(const float* host, int64_t n) {
  if (host == nullptr || n <= 0) throw std::invalid_argument("DeviceWeights::add_floats: empty vector");
  if (auto it = floats_.find(host); it != floats_.end()) {
    if (it->second.n >= n) return;
    throw std::invalid_argument("DeviceWeights::add_floats: address already registered with " +
                                std::to_string(it->second.n) + " floats, now " + std::to_string(n));
  }
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  void* device = memory_->allocate(bytes);
  try {
    memory_->upload(device, host, bytes);
  } catch (...) {
    memory_->release(device);
    throw;
  }
  floats_.emplace(host, Floats{n, device});
  bytes_ += bytes;
}

const uint16_t* DeviceWeights::matrix(const WeightView& w) const {
  const auto it = matrices_.find(w.data);
  if (it == matrices_.end()) return nullptr;
  const Matrix& m = it->second;
  if (m.type != w.type || m.rows != w.rows || m.cols != w.cols) {
    throw std::invalid_argument("DeviceWeights: the weight at this address was registered as " +
                                shape_of(m.type, m.rows, m.cols) + ", not " + shape_of(w.type, w.rows, w.cols));
  }
  return static_cast<const uint16_t*>(m.data);
}

const float* DeviceWeights::floats(const float* host, int64_t n) const {
  const auto it = floats_.find(host);
  if (it == floats_.end()) return nullptr;
  if (it->second.n < n) {
    throw std::invalid_argument("DeviceWeights: " + std::to_string(n) + " floats asked at an address registered with " +
                                std::to_string(it->second.n));
  }
  return static_cast<const float*>(it->second.data);
}

}  // namespace nucleus::kernels

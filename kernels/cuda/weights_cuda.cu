#include "kernels/cuda/weights_cuda.h"

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/cuda_buffer.h"
#include "kernels/fp16.h"
#include "kernels/ggml_types.h"

namespace nucleus::kernels::cuda {
namespace {

// Key: (host address, type, rows, cols); a view of the same bytes with another shape is another entry.
using Key = std::tuple<const void*, uint32_t, int64_t, int64_t>;

struct Cache {
  std::mutex mutex;
  std::map<Key, CudaBuffer<uint16_t>> halves;
  std::map<Key, CudaBuffer<float>> floats;
};

Cache& cache() {
  static Cache* c = new Cache;  // leaked on purpose: no cudaFree after the driver has shut down
  return *c;
}

CudaBuffer<uint16_t> upload_fp16(const WeightView& w) {
  CudaBuffer<uint16_t> buffer(static_cast<size_t>(w.rows * w.cols));
  // Convert in chunks of ~4M elements so the host staging stays small.
  const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 22) / w.cols);
  std::vector<float> row(static_cast<size_t>(w.cols));
  std::vector<uint16_t> staging;
  const auto* src = static_cast<const uint8_t*>(w.data);
  for (int64_t r0 = 0; r0 < w.rows; r0 += chunk_rows) {
    const int64_t r1 = std::min(w.rows, r0 + chunk_rows);
    staging.resize(static_cast<size_t>((r1 - r0) * w.cols));
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w.type, src + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
      uint16_t* dst = staging.data() + (r - r0) * w.cols;
      for (int64_t c = 0; c < w.cols; ++c) dst[c] = float_to_fp16(row[static_cast<size_t>(c)]);
    }
    NUCLEUS_CUDA_CHECK(cudaMemcpy(buffer.data() + r0 * w.cols, staging.data(), staging.size() * sizeof(uint16_t),
                                  cudaMemcpyHostToDevice));
  }
  return buffer;
}

}  // namespace

bool is_device_pointer(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

const uint16_t* device_weight_fp16(const WeightView& w) {
  if (is_device_pointer(w.data)) {
    if (w.type != GgmlType::F16) {
      throw std::invalid_argument("matmul: a device weight must be F16, got " + std::string(ggml_type_name(w.type)));
    }
    return static_cast<const uint16_t*>(w.data);
  }
  Cache& c = cache();
  const Key key{w.data, static_cast<uint32_t>(w.type), w.rows, w.cols};
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.halves.find(key);
  if (it == c.halves.end()) it = c.halves.emplace(key, upload_fp16(w)).first;
  return it->second.data();
}

const float* device_floats(const float* p, int64_t n) {
  if (is_device_pointer(p)) return p;
  Cache& c = cache();
  const Key key{p, 0u, n, 1};
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.floats.find(key);
  if (it == c.floats.end()) {
    CudaBuffer<float> buffer;
    buffer.upload(p, static_cast<size_t>(n));
    it = c.floats.emplace(key, std::move(buffer)).first;
  }
  return it->second.data();
}

void release_device_weights() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.halves.clear();
  c.floats.clear();
}

}  // namespace nucleus::kernels::cuda

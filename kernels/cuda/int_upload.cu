#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/int_arena.h"
#include "kernels/cuda/int_upload.h"

namespace nucleus::kernels::cuda {
namespace {

// Pinned staging and device buffers; copies on the legacy default stream,
// the last one marked by an event.
class CudaArenaMemory final : public IntArenaMemory {
 public:
  ~CudaArenaMemory() override {
    // Not checked: at thread exit the driver may be shutting down.
    if (staging_ != nullptr) cudaFreeHost(staging_);
    if (device_ != nullptr) cudaFree(device_);
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  void reallocate(int64_t capacity) override {
    // cudaFree waits for the device, so no queued kernel still reads the old buffer.
    if (staging_ != nullptr) NUCLEUS_CUDA_CHECK(cudaFreeHost(staging_));
    if (device_ != nullptr) NUCLEUS_CUDA_CHECK(cudaFree(device_));
    staging_ = nullptr;
    device_ = nullptr;
    const size_t bytes = static_cast<size_t>(capacity) * sizeof(int32_t);
    NUCLEUS_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&staging_), bytes));
    NUCLEUS_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&device_), bytes));
    if (event_ == nullptr) NUCLEUS_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
  }
  int32_t* staging() override { return staging_; }
  const int32_t* device() const override { return device_; }
  void copy_to_device(int64_t begin, int64_t count) override {
    NUCLEUS_CUDA_CHECK(cudaMemcpyAsync(device_ + begin, staging_ + begin, static_cast<size_t>(count) * sizeof(int32_t),
                                       cudaMemcpyHostToDevice, 0));
    NUCLEUS_CUDA_CHECK(cudaEventRecord(event_, 0));
    pending_ = true;
  }
  void wait_copies() override {
    if (pending_) NUCLEUS_CUDA_CHECK(cudaEventSynchronize(event_));
    pending_ = false;
  }

 private:
  int32_t* staging_ = nullptr;
  int32_t* device_ = nullptr;
  cudaEvent_t event_ = nullptr;
  bool pending_ = false;
};

struct ThreadArena {
  CudaArenaMemory memory;
  IntArena arena{memory};
};

}  // namespace

std::vector<const int32_t*> upload_ints(std::initializer_list<std::pair<const int32_t*, int64_t>> parts) {
  thread_local ThreadArena t;
  return t.arena.place(parts);
}

}  // namespace nucleus::kernels::cuda

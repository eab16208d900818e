#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda/weights_cuda.h"
#include "kernels/device_weights.h"
#include "kernels/ggml_types.h"

namespace nucleus::kernels::cuda {

bool is_device_pointer(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

namespace {

[[noreturn]] void unregistered(const char* op, const char* what) {
  throw std::invalid_argument(std::string(op) + ": " + what +
                              " is host memory that no DeviceWeights registered (ctx.weights; a model registers "
                              "its weights when it is prepared for CUDA)");
}

}  // namespace

const uint16_t* gemm_weight_fp16(const Context& ctx, const WeightView& w, const char* op) {
  if (ctx.weights != nullptr) {
    if (const uint16_t* copy = ctx.weights->matrix(w)) return copy;
  }
  if (!is_device_pointer(w.data)) unregistered(op, "the weight");
  if (w.type == GgmlType::F32) return nullptr;
  if (w.type == GgmlType::F16) return static_cast<const uint16_t*>(w.data);
  throw std::invalid_argument(std::string(op) + ": a device weight must be F32 or F16, got " +
                              std::string(ggml_type_name(w.type)));
}

const float* device_floats(const Context& ctx, const float* p, int64_t n, const char* op) {
  if (ctx.weights != nullptr) {
    if (const float* copy = ctx.weights->floats(p, n)) return copy;
  }
  if (!is_device_pointer(p)) unregistered(op, "a float vector (norm weight or bias)");
  return p;
}

}  // namespace nucleus::kernels::cuda

// Where a CUDA op finds the device copy of a weight it was given.
//
// A host weight (the mmap'd GGUF's matrices, the model's float norms and
// biases) must have been registered in ctx.weights (kernels/device_weights.h,
// one owner per model, made at load): the op uses that copy. A pointer that is
// not registered must be device memory (tests and tools pass device buffers);
// a host pointer nobody registered is an error naming the op. The device
// check (cudaPointerGetAttributes) runs only on that unregistered path, never
// for the model's own weights.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace nucleus::kernels::cuda {

// True when p is device (or managed) memory, false for ordinary host memory.
bool is_device_pointer(const void* p);

// The fp16 matrix a GEMM reads for w ([w.rows, w.cols], raw half bits): the
// registered copy of a host weight, or w.data itself for a device F16 weight.
// Null for a device F32 weight (cuBLAS reads it as F32). Throws
// std::invalid_argument for a host weight that is not registered and for a
// device weight of another type.
const uint16_t* gemm_weight_fp16(const Context& ctx, const WeightView& w, const char* op);

// n floats of a 1-D weight (norm, bias) in device memory: the registered copy
// of host memory, or p itself when p is device memory. Throws
// std::invalid_argument for unregistered host memory.
const float* device_floats(const Context& ctx, const float* p, int64_t n, const char* op);

}  // namespace nucleus::kernels::cuda

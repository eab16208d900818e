// Weights on the device: each host weight matrix is uploaded once, as fp16
// [rows, cols] row-major, on its first use; later uses find it by host address.
//
// Upload: every row is dequantized on the host with dequantize_row (the same
// code the CPU path and its golden tests use), rounded to fp16 (round to nearest
// even, float_to_fp16), and copied with cudaMemcpy. fp16 is exact for F16
// weights; for F32/BF16 it rounds to 11 bits; for quantized types the
// dequantized value d*q(+m) is rounded to 11 bits; |values| > 65504 become inf.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace nucleus::kernels::cuda {

// True when p is device (or managed) memory, false for ordinary host memory.
bool is_device_pointer(const void* p);

// Device fp16 copy of w ([w.rows, w.cols], raw half bits). A device F16 WeightView
// is used as it is; any other device type throws std::invalid_argument.
const uint16_t* device_weight_fp16(const WeightView& w);

// Device copy of n host floats (1-D weights: norms, biases), cached by address;
// a device pointer is returned as it is.
const float* device_floats(const float* p, int64_t n);

// Frees every cached upload (call before the host weights go away).
void release_device_weights();

}  // namespace nucleus::kernels::cuda

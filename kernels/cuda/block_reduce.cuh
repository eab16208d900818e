// Block-wide reductions for kernels launched with blockDim.x a multiple of 32
// (at most 1024). Deterministic: the combination order depends only on
// blockDim.x, never on timing. Every thread of the block must call them; every
// thread gets the result. Device code only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace nucleus::kernels::cuda {

template <typename T, typename Op>
__device__ inline T warp_reduce(T v, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// shared: at least 32 elements of T.
template <typename T, typename Op>
__device__ inline T block_reduce(T v, Op op, T identity, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // shared may still be read by a previous reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < warps ? shared[threadIdx.x] : identity;
  if (warp == 0) v = warp_reduce(v, op);
  if (threadIdx.x == 0) shared[0] = v;
  __syncthreads();
  return shared[0];
}

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a < b ? a : b; }
};

// A (value, id) pair: the best has the larger value, then the smaller id.
struct ValueId {
  double value;
  int32_t id;
};

__device__ inline ValueId better(ValueId a, ValueId b) {
  return (a.value > b.value || (a.value == b.value && a.id < b.id)) ? a : b;
}

__device__ inline ValueId block_best(ValueId v, ValueId* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  for (int offset = 16; offset > 0; offset >>= 1) {
    ValueId o{__shfl_xor_sync(0xffffffffu, v.value, offset), __shfl_xor_sync(0xffffffffu, v.id, offset)};
    v = better(v, o);
  }
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? shared[lane] : ValueId{-INFINITY, INT32_MAX};
    for (int offset = 16; offset > 0; offset >>= 1) {
      ValueId o{__shfl_xor_sync(0xffffffffu, v.value, offset), __shfl_xor_sync(0xffffffffu, v.id, offset)};
      v = better(v, o);
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

}  // namespace nucleus::kernels::cuda

// The memory behind the paged KV cache: for every layer, K and V for
// `num_blocks * block_size` token slots. Which slots belong to which sequence
// is decided elsewhere (the block pool); this class only owns the bytes.
//
// Layout per layer: k, v [num_blocks, n_kv_heads, block_size, head_dim] (a
// block keeps each KV head's rows together, kernels/ops.h) in the chosen
// dtype (kernels/kv_dtype.h: f32, f16 or Q8_0 blocks along head_dim), each
// value rounded once when written, so a key reads back bitwise the same
// whatever chunk or batch wrote it (batch invariance holds for every dtype).
// The bytes live on the device the forward pass runs on (host memory for the
// CPU, cudaMalloc'ed for CUDA).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/device.h"
#include "kernels/kv_dtype.h"
#include "kernels/ops.h"

namespace nucleus {

struct ModelConfig;

class KvStorage {
 public:
  // Throws std::invalid_argument for no blocks, or a dtype the model's
  // head_dim does not fit (Q8_0 needs a multiple of 32).
  KvStorage(const ModelConfig& config, int64_t num_blocks, int block_size,
            kernels::Device device = kernels::Device::kCpu, kernels::KvDtype dtype = kernels::kDefaultKvDtype);

  // Bytes one token slot takes over all layers (K and V) in `dtype`.
  static int64_t bytes_per_token(const ModelConfig& config, kernels::KvDtype dtype = kernels::kDefaultKvDtype);
  // Throws std::invalid_argument naming the problem when `dtype` cannot hold
  // this model's keys (head_dim not a multiple of the dtype's block).
  static void check_dtype(const ModelConfig& config, kernels::KvDtype dtype);

  int64_t num_blocks() const { return num_blocks_; }
  int block_size() const { return block_size_; }
  int64_t num_slots() const { return num_blocks_ * block_size_; }
  kernels::Device device() const { return device_; }
  kernels::KvDtype dtype() const { return dtype_; }
  kernels::KvLayerView layer(int index);

  // Copies the K/V of every layer from slot range [src, src + n) to [dst, dst + n)
  // (copy-on-write of a shared partial block).
  void copy_slots(int64_t src, int64_t dst, int64_t n);

 private:
  int64_t num_blocks_;
  int block_size_;
  int n_kv_heads_;
  int head_dim_;
  kernels::Device device_;
  kernels::KvDtype dtype_;
  size_t slot_bytes_;  // one layer's K (or V) of one slot
  // [layers][num_slots * slot_bytes_]. Left uninitialised: a slot is always
  // written before attention reads it, and untouched pages of a large pool
  // then cost no time or resident memory at start-up.
  std::vector<std::unique_ptr<kernels::DeviceBuffer>> k_;
  std::vector<std::unique_ptr<kernels::DeviceBuffer>> v_;
};

}  // namespace nucleus

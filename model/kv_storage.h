// The memory behind the paged KV cache: for every layer, K and V for
// `num_blocks * block_size` token slots. Which slots belong to which sequence
// is decided elsewhere (the block pool); this class only owns the floats.
//
// Layout per layer: k, v [num_slots, n_kv_heads * head_dim] float32. Float32
// keeps attention exact and batch-invariant (a key reads back bitwise as it
// was written, whatever chunk wrote it). The floats live on the device the
// forward pass runs on (host memory for the CPU, cudaMalloc'ed for CUDA).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/device.h"
#include "kernels/ops.h"

namespace nucleus {

struct ModelConfig;

class KvStorage {
 public:
  KvStorage(const ModelConfig& config, int64_t num_blocks, int block_size,
            kernels::Device device = kernels::Device::kCpu);

  // Bytes one token slot takes over all layers (K and V).
  static int64_t bytes_per_token(const ModelConfig& config);

  int64_t num_blocks() const { return num_blocks_; }
  int block_size() const { return block_size_; }
  int64_t num_slots() const { return num_blocks_ * block_size_; }
  kernels::Device device() const { return device_; }
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
  // [layers][num_slots * n_kv * head_dim]. Left uninitialised: a slot is
  // always written before attention reads it, and untouched pages of a large
  // pool then cost no time or resident memory at start-up.
  std::vector<std::unique_ptr<kernels::DeviceBuffer>> k_;
  std::vector<std::unique_ptr<kernels::DeviceBuffer>> v_;
};

}  // namespace nucleus

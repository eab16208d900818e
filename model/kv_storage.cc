#include "model/kv_storage.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/model_config.h"

namespace nucleus {

KvStorage::KvStorage(const ModelConfig& config, int64_t num_blocks, int block_size, kernels::Device device)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      n_kv_heads_(config.n_kv_heads),
      head_dim_(config.head_dim),
      device_(device) {
  if (num_blocks <= 0 || block_size <= 0) {
    throw std::invalid_argument("KV cache needs at least one block of at least one token (got " +
                                std::to_string(num_blocks) + " blocks of " + std::to_string(block_size) + ")");
  }
  const size_t bytes = static_cast<size_t>(num_slots()) * n_kv_heads_ * head_dim_ * sizeof(float);
  for (int l = 0; l < config.n_layers; ++l) {
    k_.push_back(std::make_unique<kernels::DeviceBuffer>(device, bytes));
    v_.push_back(std::make_unique<kernels::DeviceBuffer>(device, bytes));
  }
}

int64_t KvStorage::bytes_per_token(const ModelConfig& config) {
  return int64_t{2} * config.n_layers * config.n_kv_heads * config.head_dim * static_cast<int64_t>(sizeof(float));
}

kernels::KvLayerView KvStorage::layer(int index) {
  kernels::KvLayerView view;
  view.k = k_.at(index)->as<float>();
  view.v = v_.at(index)->as<float>();
  view.num_slots = num_slots();
  view.n_kv_heads = n_kv_heads_;
  view.head_dim = head_dim_;
  return view;
}

void KvStorage::copy_slots(int64_t src, int64_t dst, int64_t n) {
  const int64_t width = int64_t{n_kv_heads_} * head_dim_;
  const size_t bytes = static_cast<size_t>(n * width) * sizeof(float);
  for (size_t l = 0; l < k_.size(); ++l) {
    float* k = k_[l]->as<float>();
    float* v = v_[l]->as<float>();
    kernels::device_copy(device_, k + dst * width, k + src * width, bytes);
    kernels::device_copy(device_, v + dst * width, v + src * width, bytes);
  }
}

}  // namespace nucleus

#include "engine/kv_storage.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/model_config.h"

namespace nucleus {

KvStorage::KvStorage(const ModelConfig& config, int64_t num_blocks, int block_size)
    : num_blocks_(num_blocks), block_size_(block_size), n_kv_heads_(config.n_kv_heads), head_dim_(config.head_dim) {
  if (num_blocks <= 0 || block_size <= 0) {
    throw std::invalid_argument("KV cache needs at least one block of at least one token (got " +
                                std::to_string(num_blocks) + " blocks of " + std::to_string(block_size) + ")");
  }
  const size_t floats = static_cast<size_t>(num_slots()) * n_kv_heads_ * head_dim_;
  for (int l = 0; l < config.n_layers; ++l) {
    k_.emplace_back(new float[floats]);
    v_.emplace_back(new float[floats]);
  }
}

int64_t KvStorage::bytes_per_token(const ModelConfig& config) {
  return int64_t{2} * config.n_layers * config.n_kv_heads * config.head_dim * static_cast<int64_t>(sizeof(float));
}

kernels::KvLayerView KvStorage::layer(int index) {
  kernels::KvLayerView view;
  view.k = k_.at(index).get();
  view.v = v_.at(index).get();
  view.num_slots = num_slots();
  view.n_kv_heads = n_kv_heads_;
  view.head_dim = head_dim_;
  return view;
}

void KvStorage::copy_slots(int64_t src, int64_t dst, int64_t n) {
  const int64_t width = int64_t{n_kv_heads_} * head_dim_;
  for (size_t l = 0; l < k_.size(); ++l) {
    std::copy_n(k_[l].get() + src * width, n * width, k_[l].get() + dst * width);
    std::copy_n(v_[l].get() + src * width, n * width, v_[l].get() + dst * width);
  }
}

}  // namespace nucleus

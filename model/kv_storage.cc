#include "model/kv_storage.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/model_config.h"

namespace nucleus {

void KvStorage::check_dtype(const ModelConfig& config, kernels::KvDtype dtype) {
  const int granule = kernels::kv_dtype_granule(dtype);
  if (config.head_dim % granule != 0) {
    throw std::invalid_argument(std::string("--kv-cache-dtype ") + kernels::kv_dtype_name(dtype) +
                                " stores blocks of " + std::to_string(granule) +
                                " along head_dim, and this model's head_dim is " + std::to_string(config.head_dim) +
                                "; use f16 or f32");
  }
}

KvStorage::KvStorage(const ModelConfig& config, int64_t num_blocks, int block_size, kernels::Device device,
                     kernels::KvDtype dtype)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      n_kv_heads_(config.n_kv_heads),
      head_dim_(config.head_dim),
      device_(device),
      dtype_(dtype),
      slot_bytes_(kernels::kv_row_bytes(dtype, int64_t{config.n_kv_heads} * config.head_dim)) {
  if (num_blocks <= 0 || block_size <= 0) {
    throw std::invalid_argument("KV cache needs at least one block of at least one token (got " +
                                std::to_string(num_blocks) + " blocks of " + std::to_string(block_size) + ")");
  }
  check_dtype(config, dtype);
  const size_t bytes = static_cast<size_t>(num_slots()) * slot_bytes_;
  for (int l = 0; l < config.n_layers; ++l) {
    k_.push_back(std::make_unique<kernels::DeviceBuffer>(device, bytes));
    v_.push_back(std::make_unique<kernels::DeviceBuffer>(device, bytes));
  }
}

int64_t KvStorage::bytes_per_token(const ModelConfig& config, kernels::KvDtype dtype) {
  return int64_t{2} * config.n_layers *
         static_cast<int64_t>(kernels::kv_row_bytes(dtype, int64_t{config.n_kv_heads} * config.head_dim));
}

kernels::KvLayerView KvStorage::layer(int index) {
  kernels::KvLayerView view;
  view.k = k_.at(index)->data();
  view.v = v_.at(index)->data();
  view.num_slots = num_slots();
  view.n_kv_heads = n_kv_heads_;
  view.head_dim = head_dim_;
  view.dtype = dtype_;
  view.block_size = block_size_;
  return view;
}

void KvStorage::copy_slots(int64_t src, int64_t dst, int64_t n) {
  if (n <= 0) return;
  if (src < 0 || dst < 0 || src + n > num_slots() || dst + n > num_slots()) {
    throw std::out_of_range("KvStorage::copy_slots: slots [" + std::to_string(src) + ", " + std::to_string(src + n) +
                            ") -> [" + std::to_string(dst) + ", " + std::to_string(dst + n) + ") outside the " +
                            std::to_string(num_slots()) + " slots");
  }
  // Within a block each KV head's rows are consecutive (kernels/ops.h): the
  // range goes as runs that stay inside one block at both ends, one copy per
  // head and run (copy-on-write copies one run: a block's first slots).
  const kernels::KvLayerView view = layer(0);
  for (int64_t done = 0; done < n;) {
    const int64_t s = src + done, d = dst + done;
    const int64_t run = std::min({n - done, block_size_ - s % block_size_, block_size_ - d % block_size_});
    const size_t bytes = static_cast<size_t>(run) * view.head_bytes();
    for (size_t l = 0; l < k_.size(); ++l) {
      auto* k = k_[l]->as<uint8_t>();
      auto* v = v_[l]->as<uint8_t>();
      for (int h = 0; h < n_kv_heads_; ++h) {
        const size_t from = view.row_offset(s, h), to = view.row_offset(d, h);
        kernels::device_copy(device_, k + to, k + from, bytes);
        kernels::device_copy(device_, v + to, v + from, bytes);
      }
    }
    done += run;
  }
}

}  // namespace nucleus

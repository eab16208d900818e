#include "engine/kv_budget.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <stdexcept>
#include <string>

#include "kernels/device.h"
#include "model/kv_storage.h"

namespace nucleus {

namespace {

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return int64_t{4} << 30;  // unknown: assume 4 GiB
}

// Without --kv-cache-memory the pool takes a fraction of free RAM, capped here:
// 4 GiB holds ~90k tokens of the default model, far more than two cores can use.
constexpr int64_t kDefaultKvCacheCap = int64_t{4} << 30;

}  // namespace

int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options) {
  int64_t budget = options.kv_cache_bytes;
  if (budget <= 0) {
    // On CUDA the pool is device memory: a fraction of what the GPU has free
    // (the weights' fp16 copies are uploaded later, on first use, and need room too).
    const int64_t available = options.device == kernels::Device::kCuda ? kernels::device_free_bytes(options.device)
                                                                       : available_memory_bytes();
    budget = std::min<int64_t>(static_cast<int64_t>(options.kv_cache_fraction * available), kDefaultKvCacheCap);
  }
  const int64_t per_block = KvStorage::bytes_per_token(config) * options.block_size;
  const int64_t blocks = budget / per_block;
  if (blocks < 1) {
    throw std::invalid_argument("KV cache budget of " + std::to_string(budget) + " bytes is below one block (" +
                                std::to_string(per_block) + " bytes); raise --kv-cache-memory");
  }
  return std::min<int64_t>(blocks, INT32_MAX / options.block_size);
}

}  // namespace nucleus

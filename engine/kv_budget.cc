#include "engine/kv_budget.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "kernels/device.h"
#include "model/kv_storage.h"
#include "model/model.h"

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

std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace

kernels::KvDtype draft_kv_dtype(const ModelConfig& draft, kernels::KvDtype wanted) {
  try {
    KvStorage::check_dtype(draft, wanted);
    return wanted;
  } catch (const std::invalid_argument&) {
    return kernels::kDefaultKvDtype;
  }
}

KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options, int64_t available_bytes,
                          const ModelConfig* draft) {
  KvStorage::check_dtype(config, options.kv_dtype);
  const int64_t draft_per_token =
      draft != nullptr ? KvStorage::bytes_per_token(*draft, draft_kv_dtype(*draft, options.kv_dtype)) : 0;
  const int64_t per_token = KvStorage::bytes_per_token(config, options.kv_dtype) + draft_per_token;
  const int64_t per_block = per_token * options.block_size;
  int64_t budget = options.kv_cache_bytes;
  std::string reason;
  if (budget > 0) {
    reason = "--kv-cache-memory";
  } else {
    const int64_t context = std::max(config.context_length, 1);
    const int64_t seq_tokens = int64_t{options.max_seqs} * kKvTokensPerSeq;
    const bool by_seqs = seq_tokens > kKvDefaultContexts * context;
    const int64_t wanted_tokens = by_seqs ? seq_tokens : kKvDefaultContexts * context;
    const int64_t cap = static_cast<int64_t>(options.kv_cache_fraction * static_cast<double>(available_bytes));
    budget = std::min(wanted_tokens * per_token, cap);
    reason = by_seqs
                 ? std::to_string(kKvTokensPerSeq) + " tokens for each of " + std::to_string(options.max_seqs) +
                       " sequences (--max-seqs)"
                 : std::to_string(kKvDefaultContexts) + " x the model's " + std::to_string(context) +
                       "-token context";
    if (budget == cap) {
      reason += ", capped at " + std::to_string(static_cast<int>(options.kv_cache_fraction * 100)) + "% of the " +
                mib(available_bytes) + " available";
    }
    reason += "; --kv-cache-memory sets it";
  }
  int64_t blocks = budget / per_block;
  if (blocks < 1) {
    throw std::invalid_argument("KV cache budget of " + std::to_string(budget) + " bytes is below one block (" +
                                std::to_string(per_block) + " bytes); raise --kv-cache-memory");
  }
  blocks = std::min<int64_t>(blocks, INT32_MAX / options.block_size);
  return KvCachePlan{.dtype = options.kv_dtype,
                     .blocks = blocks,
                     .bytes = blocks * per_block,
                     .draft_bytes = blocks * options.block_size * draft_per_token,
                     .tokens = blocks * options.block_size,
                     .reason = std::move(reason)};
}

KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options) {
  // On CUDA the pool is device memory: a fraction of what the GPU has free
  // (the weights' fp16 copies are uploaded later, on first use, and need room too).
  int64_t available = 0;
  if (options.kv_cache_bytes <= 0) {
    available = options.device == kernels::Device::kCuda ? kernels::device_free_bytes(options.device)
                                                         : available_memory_bytes();
  }
  return plan_kv_cache(config, options, available, options.draft_model ? &options.draft_model->config() : nullptr);
}

int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options) {
  return plan_kv_cache(config, options).blocks;
}

std::string describe(const KvCachePlan& plan, int block_size) {
  const std::string draft = plan.draft_bytes > 0 ? "; " + mib(plan.draft_bytes) + " of it the draft model's" : "";
  return std::string(kernels::kv_dtype_name(plan.dtype)) + ", " + mib(plan.bytes) + " holding " +
         std::to_string(plan.tokens) + " tokens (" + std::to_string(plan.blocks) + " blocks of " +
         std::to_string(block_size) + draft + "): " + plan.reason;
}

}  // namespace nucleus

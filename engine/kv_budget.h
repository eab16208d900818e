// How many KV blocks the engine's pool gets: --kv-cache-memory when given;
// otherwise sized from the model, as llama.cpp sizes its cache from the
// context: room for two whole contexts (one request of the model's full
// length with room to spare for the others) and at least kTokensPerSeq
// tokens for each of --max-seqs sequences, capped at a fraction of the
// memory free on the device the cache lives on. `nucleus serve` logs the
// choice and the reason (app/cmd_serve.cc).
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_options.h"
#include "model/model_config.h"

namespace nucleus {

struct KvCachePlan {
  kernels::KvDtype dtype = kernels::kDefaultKvDtype;  // options.kv_dtype: what bytes per token counts
  int64_t blocks = 0;
  int64_t bytes = 0;    // blocks x block_size x bytes per token of dtype
  int64_t tokens = 0;   // blocks x block_size
  std::string reason;   // why this size, for the start-up log
};

inline constexpr int kKvDefaultContexts = 2;     // whole contexts the default cache holds
inline constexpr int64_t kKvTokensPerSeq = 256;  // the default's floor per --max-seqs sequence

// The plan for `available_bytes` of free device memory (used only without
// kv_cache_bytes). Throws std::invalid_argument when the budget is below one
// block, or when options.kv_dtype does not fit the model's head_dim.
KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options, int64_t available_bytes);

// plan_kv_cache with the free memory of options.device.
KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options);

// The plan's blocks (what the engine's pool gets).
int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options);

// "f16, 360 MiB holding 16384 tokens (1024 blocks of 16): 2 x the model's 8192-token context; ..."
std::string describe(const KvCachePlan& plan, int block_size);

}  // namespace nucleus

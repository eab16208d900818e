// How many KV blocks the engine's pool gets: --kv-cache-memory when given;
// otherwise sized from the model, as llama.cpp sizes its cache from the
// context: room for two whole contexts (one request of the model's full
// length with room to spare for the others) and at least kTokensPerSeq
// tokens for each of --max-seqs sequences, capped at a fraction of the
// memory free on the device the cache lives on. The choice and the reason
// are logged when the engine starts.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_options.h"
#include "model/model_config.h"

namespace nucleus {

struct KvCachePlan {
  int64_t blocks = 0;
  int64_t bytes = 0;    // blocks x block_size x bytes per token
  int64_t tokens = 0;   // blocks x block_size
  std::string reason;   // why this size, for the start-up log
};

inline constexpr int kKvDefaultContexts = 2;     // whole contexts the default cache holds
inline constexpr int64_t kKvTokensPerSeq = 256;  // the default's floor per --max-seqs sequence

// The plan for `available_bytes` of free device memory (used only without
// kv_cache_bytes). Throws std::invalid_argument when the budget is below one block.
KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options, int64_t available_bytes);

// plan_kv_cache with the free memory of options.device, logged; returns its blocks.
int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options);

}  // namespace nucleus

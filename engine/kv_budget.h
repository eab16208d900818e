// How many KV blocks the engine's pool gets: --kv-cache-memory when given,
// else a fraction of the free memory of the device the cache lives on, capped.
#pragma once

#include <cstdint>

#include "engine/engine_options.h"
#include "model/model_config.h"

namespace nucleus {

// Throws std::invalid_argument when the budget is below one block.
int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options);

}  // namespace nucleus

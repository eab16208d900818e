// How many KV blocks the engine's pool gets: --kv-cache-memory when given;
// otherwise sized from the model, as llama.cpp sizes its cache from the
// context: room for two whole contexts (one request of the model's full
// length with room to spare for the others) and at least kTokensPerSeq
// tokens for each of --max-seqs sequences, capped at a fraction of the
// memory free on the device the cache lives on. `nucleus serve` logs the
// choice and the reason (app/cmd_serve.cc).
//
// With a draft model (--draft-model) the budget holds both caches: the draft
// model's pool has as many blocks as the model's (draft_model_drafter.h), so
// a block costs the bytes of a block of each, as vLLM counts a draft model's
// KV inside its memory budget.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_options.h"
#include "model/model_config.h"

namespace nucleus {

struct KvCachePlan {
  kernels::KvDtype dtype = kernels::kDefaultKvDtype;  // options.kv_dtype: what bytes per token counts
  int64_t blocks = 0;
  int64_t bytes = 0;    // blocks x block_size x bytes per token of dtype (of both models' with a draft model)
  int64_t draft_bytes = 0;  // the draft model's part of bytes
  int64_t tokens = 0;   // blocks x block_size
  std::string reason;   // why this size, for the start-up log
};

inline constexpr int kKvDefaultContexts = 2;     // whole contexts the default cache holds
inline constexpr int64_t kKvTokensPerSeq = 256;  // the default's floor per --max-seqs sequence

// The dtype the draft model's KV is stored in: options.kv_dtype, or the
// default (f16) when the draft model's head_dim cannot hold it.
kernels::KvDtype draft_kv_dtype(const ModelConfig& draft, kernels::KvDtype wanted);

// The plan for `available_bytes` of free device memory (used only without
// kv_cache_bytes), with a draft model of config `draft` when not null. Throws
// std::invalid_argument when the budget is below one block, or when
// options.kv_dtype does not fit the model's head_dim.
KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options, int64_t available_bytes,
                          const ModelConfig* draft = nullptr);

// plan_kv_cache with the free memory of options.device and options.draft_model.
KvCachePlan plan_kv_cache(const ModelConfig& config, const EngineOptions& options);

// The plan's blocks (what the engine's pool gets).
int64_t kv_cache_blocks(const ModelConfig& config, const EngineOptions& options);

// "f16, 360 MiB holding 16384 tokens (1024 blocks of 16): 2 x the model's 8192-token context; ..."
// (with a draft model: "... (1024 blocks of 16; 40 MiB of it the draft model's): ...")
std::string describe(const KvCachePlan& plan, int block_size);

}  // namespace nucleus

// The default KV cache size: from the model's context and --max-seqs, capped
// by free memory; --kv-cache-memory overrides it.
#include "engine/kv_budget.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "model/kv_storage.h"

namespace nucleus {
namespace {

// SmolLM2-135M's shape: 30 layers, 3 KV heads of 64, an 8192-token context.
ModelConfig small_model() {
  ModelConfig c;
  c.n_layers = 30;
  c.n_kv_heads = 3;
  c.head_dim = 64;
  c.context_length = 8192;
  return c;
}

constexpr int64_t kGiB = int64_t{1} << 30;

TEST(KvBudget, DefaultHoldsTwoContextsWhenMemoryAllows) {
  const ModelConfig config = small_model();
  EngineOptions options;  // max_seqs 64 x 256 = 16384 tokens = 2 x 8192 too
  const KvCachePlan plan = plan_kv_cache(config, options, 16 * kGiB);
  EXPECT_EQ(plan.tokens, 2 * 8192);
  EXPECT_EQ(plan.bytes, plan.tokens * 30 * 3 * 64 * 2 * 4);  // K and V in float32: 720 MiB, not 4 GiB
  EXPECT_NE(plan.reason.find("8192-token context"), std::string::npos) << plan.reason;
}

TEST(KvBudget, ManySequencesGetAFloorEach) {
  ModelConfig config = small_model();
  config.context_length = 2048;
  EngineOptions options;
  options.max_seqs = 128;
  const KvCachePlan plan = plan_kv_cache(config, options, 64 * kGiB);
  EXPECT_EQ(plan.tokens, 128 * kKvTokensPerSeq);
  EXPECT_NE(plan.reason.find("--max-seqs"), std::string::npos) << plan.reason;
}

TEST(KvBudget, CappedByAQuarterOfFreeMemory) {
  const ModelConfig config = small_model();
  EngineOptions options;
  const int64_t available = 400 << 20;  // a quarter is 100 MiB: less than two contexts (720 MiB)
  const KvCachePlan plan = plan_kv_cache(config, options, available);
  EXPECT_LE(plan.bytes, available / 4);
  EXPECT_GT(plan.bytes, available / 4 - KvStorage::bytes_per_token(config, options.kv_dtype) * options.block_size);
  EXPECT_NE(plan.reason.find("capped"), std::string::npos) << plan.reason;
}

TEST(KvBudget, TheOptionOverridesTheDefault) {
  const ModelConfig config = small_model();
  EngineOptions options;
  options.kv_cache_bytes = 64 << 20;
  const KvCachePlan plan = plan_kv_cache(config, options, 1);  // free memory is not consulted
  EXPECT_EQ(plan.blocks, (64 << 20) / (KvStorage::bytes_per_token(config, options.kv_dtype) * options.block_size));
  EXPECT_NE(plan.reason.find("--kv-cache-memory"), std::string::npos);
  options.kv_cache_bytes = 1000;
  EXPECT_THROW(plan_kv_cache(config, options, 1), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus

// The default KV cache size: from the model's context and --max-seqs, capped
// by free memory; --kv-cache-memory overrides it.
#include "engine/kv_budget.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

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
  EXPECT_EQ(plan.bytes, plan.tokens * 30 * 3 * 64 * 2 * 2);  // K and V in float16 (the default): 360 MiB
  EXPECT_NE(plan.reason.find("8192-token context"), std::string::npos) << plan.reason;
  EXPECT_EQ(describe(plan, options.block_size).rfind("f16, 360 MiB holding 16384 tokens", 0), 0u)
      << describe(plan, options.block_size);
}

// The budget counts bytes of the chosen dtype: in the same memory f16 holds
// twice the tokens of f32, and q8_0 (34 bytes per 32 values) 64/17 times as many.
TEST(KvBudget, CountsBytesOfTheCacheDtype) {
  const ModelConfig config = small_model();
  EngineOptions options;
  options.block_size = 16;
  options.kv_cache_bytes = 340 * 16 * 30 * 3 * 2 * 64;  // 340 blocks of 16 tokens at one byte a value
  int64_t tokens[3];
  int i = 0;
  for (kernels::KvDtype dtype : {kernels::KvDtype::kF32, kernels::KvDtype::kF16, kernels::KvDtype::kQ8_0}) {
    options.kv_dtype = dtype;
    const KvCachePlan plan = plan_kv_cache(config, options, 1);
    EXPECT_EQ(plan.dtype, dtype);
    EXPECT_EQ(plan.blocks * 16 * KvStorage::bytes_per_token(config, dtype), plan.bytes);
    tokens[i++] = plan.tokens;
  }
  EXPECT_EQ(tokens[0], 85 * 16);   // 4 bytes a value
  EXPECT_EQ(tokens[1], 170 * 16);  // 2 bytes
  EXPECT_EQ(tokens[2], 320 * 16);  // 34 / 32 bytes: 340 * 32 / 34 blocks
}

TEST(KvBudget, Q8_0NeedsHeadDimAMultipleOf32) {
  ModelConfig config = small_model();
  config.head_dim = 80;
  EngineOptions options;
  options.kv_dtype = kernels::KvDtype::kQ8_0;
  try {
    plan_kv_cache(config, options, 16 * kGiB);
    ADD_FAILURE() << "q8_0 with head_dim 80 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-cache-dtype q8_0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("head_dim is 80"), std::string::npos) << e.what();
  }
  options.kv_dtype = kernels::KvDtype::kF16;
  EXPECT_GT(plan_kv_cache(config, options, 16 * kGiB).blocks, 0);
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
  const int64_t available = 400 << 20;  // a quarter is 100 MiB: less than two contexts (360 MiB in f16)
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

// A draft model's KV pool has as many blocks as the model's, so the budget
// pays for a block of each: in the draft's dtype, or f16 where its head_dim
// cannot hold q8_0. The description names the draft model's share.
TEST(KvBudget, HoldsTheDraftModelsCacheToo) {
  const ModelConfig config = small_model();
  ModelConfig draft = small_model();
  draft.n_layers = 10;
  draft.head_dim = 48;  // no q8_0: its KV stays f16
  EngineOptions options;
  options.block_size = 16;
  options.kv_dtype = kernels::KvDtype::kQ8_0;
  options.kv_cache_bytes = 256 << 20;
  const int64_t model_token = KvStorage::bytes_per_token(config, kernels::KvDtype::kQ8_0);
  const int64_t draft_token = KvStorage::bytes_per_token(draft, kernels::KvDtype::kF16);
  EXPECT_EQ(draft_kv_dtype(draft, kernels::KvDtype::kQ8_0), kernels::KvDtype::kF16);
  EXPECT_EQ(draft_kv_dtype(config, kernels::KvDtype::kQ8_0), kernels::KvDtype::kQ8_0);
  const KvCachePlan alone = plan_kv_cache(config, options, 1);
  const KvCachePlan both = plan_kv_cache(config, options, 1, &draft);
  EXPECT_EQ(alone.blocks, (256 << 20) / (16 * model_token));
  EXPECT_EQ(both.blocks, (256 << 20) / (16 * (model_token + draft_token)));
  EXPECT_LE(both.bytes, int64_t{256} << 20);
  EXPECT_EQ(both.draft_bytes, both.blocks * 16 * draft_token);
  EXPECT_EQ(both.bytes, both.blocks * 16 * (model_token + draft_token));
  const std::string text = describe(both, options.block_size);
  EXPECT_NE(text.find("of it the draft model's"), std::string::npos) << text;
  EXPECT_EQ(describe(alone, options.block_size).find("draft"), std::string::npos);

  // The default size: the same tokens while memory allows, both caches within the cap when not.
  options.kv_cache_bytes = 0;
  options.kv_dtype = kernels::KvDtype::kF16;
  EXPECT_EQ(plan_kv_cache(config, options, 64 * kGiB, &draft).tokens, plan_kv_cache(config, options, 64 * kGiB).tokens);
  const int64_t available = 400 << 20;
  const KvCachePlan capped = plan_kv_cache(config, options, available, &draft);
  EXPECT_LE(capped.bytes, available / 4);
  EXPECT_GT(capped.draft_bytes, 0);
}

}  // namespace
}  // namespace nucleus

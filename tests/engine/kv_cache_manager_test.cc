// KvCacheManager: prefix matching (exact ids, at most num_tokens - 1 tokens),
// allocation that fails without side effects, copy-on-write of a shared
// partial block (the K/V really copied), fork and release order.
#include "engine/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "model/model_config.h"

namespace nucleus {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 1;
  c.head_dim = 2;
  return c;
}

class KvCacheManagerTest : public ::testing::Test {
 protected:
  static constexpr int kBs = 4;
  explicit KvCacheManagerTest(int64_t blocks = 8, bool prefix = true)
      : storage_(small_config(), blocks, kBs, kernels::Device::kCpu, kernels::KvDtype::kF32),
        pool_(blocks, kBs, prefix),
        kv_(pool_, storage_) {}

  // Simulates a step that computed every token of `seq_tokens`.
  SequenceKv computed(const std::vector<int32_t>& seq_tokens) {
    SequenceKv s;
    EXPECT_EQ(kv_.match_prefix(s, seq_tokens), 0);
    EXPECT_TRUE(kv_.allocate(s, static_cast<int64_t>(seq_tokens.size())));
    s.num_computed = static_cast<int64_t>(seq_tokens.size());
    kv_.register_full_blocks(s, seq_tokens);
    return s;
  }
  // Writes a recognisable value into every float of `slot` in every layer.
  // (An f32 cache: copy_slots moves bytes whatever the dtype, tests/model/kv_storage_test.cc.)
  void fill_slot(int64_t slot, float value) {
    for (int l = 0; l < 2; ++l) {
      kernels::KvLayerView v = storage_.layer(l);
      for (int i = 0; i < 2; ++i) {
        static_cast<float*>(v.k)[slot * 2 + i] = value + static_cast<float>(l);
        static_cast<float*>(v.v)[slot * 2 + i] = -value - static_cast<float>(l);
      }
    }
  }
  float k_at(int64_t slot, int layer) { return static_cast<float*>(storage_.layer(layer).k)[slot * 2]; }
  float v_at(int64_t slot, int layer) { return static_cast<float*>(storage_.layer(layer).v)[slot * 2 + 1]; }

  KvStorage storage_;
  BlockPool pool_;
  KvCacheManager kv_;
};

std::vector<int32_t> iota(int n, int32_t start = 10) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), start);
  return t;
}

TEST_F(KvCacheManagerTest, SamePromptReusesTheExactBlocks) {
  const std::vector<int32_t> prompt = iota(11);  // blocks: [0,4) [4,8) [8,11) partial
  SequenceKv a = computed(prompt);
  ASSERT_EQ(a.block_table.size(), 3u);
  const std::vector<int32_t> a_blocks = a.block_table;
  SequenceKv b;
  EXPECT_EQ(kv_.match_prefix(b, prompt), 8);  // the two full blocks; the partial one is not cached
  ASSERT_EQ(b.block_table.size(), 2u);
  EXPECT_EQ(b.block_table[0], a_blocks[0]);
  EXPECT_EQ(b.block_table[1], a_blocks[1]);
  EXPECT_EQ(b.num_computed, 8);
  EXPECT_EQ(pool_.ref_count(a_blocks[0]), 2);
  // After A is gone the blocks are still found (free but cached).
  kv_.release(a);
  kv_.release(b);
  EXPECT_EQ(pool_.num_used(), 0);
  SequenceKv c;
  EXPECT_EQ(kv_.match_prefix(c, prompt), 8);
  EXPECT_EQ(c.block_table, std::vector<int32_t>(a_blocks.begin(), a_blocks.begin() + 2));
  kv_.release(c);
  EXPECT_TRUE(pool_.check_invariants());
}

TEST_F(KvCacheManagerTest, AtMostAllButTheLastTokenIsReused) {
  const std::vector<int32_t> prompt = iota(8);  // exactly two full blocks
  SequenceKv a = computed(prompt);
  kv_.release(a);
  SequenceKv b;
  // Reusing both blocks would leave no token to compute (no logits): only the first is taken.
  EXPECT_EQ(kv_.match_prefix(b, prompt), 4);
  EXPECT_EQ(b.num_computed, 4);
  kv_.release(b);
  // A longer prompt with the same 8 tokens first gets both.
  std::vector<int32_t> longer = prompt;
  longer.push_back(99);
  SequenceKv c;
  EXPECT_EQ(kv_.match_prefix(c, longer), 8);
  kv_.release(c);
  // A one-token prompt never matches.
  SequenceKv d;
  EXPECT_EQ(kv_.match_prefix(d, std::vector<int32_t>{10}), 0);
  EXPECT_TRUE(d.block_table.empty());
}

TEST_F(KvCacheManagerTest, DivergingPromptReusesOnlyTheCommonBlocks) {
  std::vector<int32_t> prompt = iota(13);
  SequenceKv a = computed(prompt);
  std::vector<int32_t> other = prompt;
  other[5] = 999;  // differs inside block 1
  SequenceKv b;
  EXPECT_EQ(kv_.match_prefix(b, other), 4);
  EXPECT_EQ(b.block_table[0], a.block_table[0]);
  // Block 2 of `other` has the same tokens as block 2 of `prompt`, but its chained
  // hash differs (another parent), so it must not match even in isolation.
  std::vector<int32_t> tail_same = prompt;
  tail_same[0] = 777;  // differs in block 0 only
  SequenceKv c;
  EXPECT_EQ(kv_.match_prefix(c, tail_same), 0);
  kv_.release(a);
  kv_.release(b);
  kv_.release(c);
  EXPECT_EQ(pool_.num_used(), 0);
}

TEST_F(KvCacheManagerTest, AllocateFailsWithoutSideEffects) {
  SequenceKv a;
  ASSERT_TRUE(kv_.allocate(a, 6 * kBs));
  EXPECT_EQ(pool_.num_free(), 2);
  SequenceKv b;
  EXPECT_FALSE(kv_.allocate(b, 2 * kBs + 1));  // needs 3 blocks
  EXPECT_TRUE(b.block_table.empty());
  EXPECT_EQ(pool_.num_free(), 2);
  EXPECT_TRUE(kv_.allocate(b, 2 * kBs));
  EXPECT_EQ(pool_.num_free(), 0);
  // Allocating within the blocks already held needs nothing new.
  b.num_computed = 3;
  EXPECT_TRUE(kv_.allocate(b, 5));
  EXPECT_EQ(b.block_table.size(), 2u);
  kv_.release(a);
  kv_.release(b);
  EXPECT_EQ(pool_.num_used(), 0);
}

TEST_F(KvCacheManagerTest, SharedPartialBlockIsCopiedBeforeWrite) {
  SequenceKv a;
  ASSERT_TRUE(kv_.allocate(a, 6));  // blocks 0 and 1; block 1 holds 2 tokens
  a.num_computed = 6;
  for (int64_t pos = 0; pos < 6; ++pos) fill_slot(kv_.slot(a, pos), 100.0f + static_cast<float>(pos));
  SequenceKv b;
  kv_.fork(a, b);
  EXPECT_EQ(b.block_table, a.block_table);
  EXPECT_EQ(pool_.ref_count(a.block_table[1]), 2);
  const int64_t used_before = pool_.num_used();

  ASSERT_TRUE(kv_.allocate(b, 1));  // b writes position 6 into the shared partial block
  EXPECT_EQ(b.block_table[0], a.block_table[0]);  // full block: still shared
  EXPECT_NE(b.block_table[1], a.block_table[1]);  // partial block: copied
  EXPECT_EQ(pool_.ref_count(a.block_table[0]), 2);
  EXPECT_EQ(pool_.ref_count(a.block_table[1]), 1);
  EXPECT_EQ(pool_.ref_count(b.block_table[1]), 1);
  EXPECT_EQ(pool_.num_used(), used_before + 1);
  // The computed slots were copied, in every layer, K and V.
  for (int64_t pos = 4; pos < 6; ++pos) {
    for (int l = 0; l < 2; ++l) {
      EXPECT_EQ(k_at(kv_.slot(b, pos), l), k_at(kv_.slot(a, pos), l)) << "pos " << pos << " layer " << l;
      EXPECT_EQ(v_at(kv_.slot(b, pos), l), v_at(kv_.slot(a, pos), l));
    }
  }
  // Writing b's position 6 leaves a's untouched.
  fill_slot(kv_.slot(b, 6), -5.0f);
  fill_slot(kv_.slot(a, 6), 7.0f);
  EXPECT_EQ(k_at(kv_.slot(b, 6), 0), -5.0f);
  // a is now the only owner of its partial block: no copy.
  const int32_t a_partial = a.block_table[1];
  ASSERT_TRUE(kv_.allocate(a, 1));
  EXPECT_EQ(a.block_table[1], a_partial);
  kv_.release(a);
  kv_.release(b);
  EXPECT_EQ(pool_.num_used(), 0);
  EXPECT_TRUE(pool_.check_invariants());
}

TEST_F(KvCacheManagerTest, SharedFullBlocksAreNotCopied) {
  SequenceKv a;
  ASSERT_TRUE(kv_.allocate(a, 8));
  a.num_computed = 8;
  SequenceKv b;
  kv_.fork(a, b);
  ASSERT_TRUE(kv_.allocate(b, 1));
  EXPECT_EQ(b.block_table.size(), 3u);
  EXPECT_EQ(b.block_table[1], a.block_table[1]);
  EXPECT_EQ(pool_.ref_count(a.block_table[1]), 2);
  kv_.release(a);
  kv_.release(b);
  EXPECT_EQ(pool_.num_used(), 0);
}

TEST_F(KvCacheManagerTest, CopyOnWriteCountsTheCopyWhenBlocksAreShort) {
  SequenceKv a;
  ASSERT_TRUE(kv_.allocate(a, 6));
  a.num_computed = 6;
  SequenceKv b;
  kv_.fork(a, b);
  SequenceKv filler;
  ASSERT_TRUE(kv_.allocate(filler, 6 * kBs));  // takes the other 6 blocks
  ASSERT_EQ(pool_.num_free(), 0);
  EXPECT_FALSE(kv_.allocate(b, 1));  // the copy needs a block
  EXPECT_EQ(b.block_table, a.block_table);
  kv_.release(filler);
  kv_.release(a);
  kv_.release(b);
  EXPECT_EQ(pool_.num_used(), 0);
}

class KvCacheManagerTiny : public KvCacheManagerTest {
 protected:
  KvCacheManagerTiny() : KvCacheManagerTest(3, true) {}
};

TEST_F(KvCacheManagerTiny, ReleaseFreesTheTailFirstSoThePrefixHeadSurvivesLongest) {
  const std::vector<int32_t> prompt = iota(12);
  SequenceKv a = computed(prompt);
  const std::vector<int32_t> blocks = a.block_table;
  kv_.release(a);
  EXPECT_TRUE(a.block_table.empty());
  EXPECT_EQ(a.num_computed, 0);
  EXPECT_EQ(pool_.num_cached_free(), 3);
  EXPECT_EQ(pool_.allocate(), blocks[2]);  // the tail goes first
  SequenceKv b;
  EXPECT_EQ(kv_.match_prefix(b, prompt), 8);  // the head is still there
  kv_.release(b);
  pool_.release(blocks[2]);
}

class KvCacheManagerNoPrefix : public KvCacheManagerTest {
 protected:
  KvCacheManagerNoPrefix() : KvCacheManagerTest(8, false) {}
};

TEST_F(KvCacheManagerNoPrefix, NothingIsMatchedOrRegistered) {
  const std::vector<int32_t> prompt = iota(12);
  SequenceKv a = computed(prompt);
  EXPECT_TRUE(a.block_hashes.empty());
  kv_.release(a);
  SequenceKv b;
  EXPECT_EQ(kv_.match_prefix(b, prompt), 0);
  EXPECT_EQ(pool_.num_cached_free(), 0);
}

TEST(KvCacheManager, RejectsMismatchedPoolAndStorage) {
  KvStorage storage(small_config(), 4, 4);
  BlockPool other_count(5, 4, true), other_size(4, 8, true);
  EXPECT_THROW(KvCacheManager(other_count, storage), std::invalid_argument);
  EXPECT_THROW(KvCacheManager(other_size, storage), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus

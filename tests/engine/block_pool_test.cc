// BlockPool: a randomized comparison against a plain reference model (ref
// counts, the LRU free list, the hash -> block map), plus the prefix-cache
// rules written out one by one: exact ids on a hit, LRU eviction, token ids
// re-checked on a hit.
#include "engine/block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

namespace nucleus {
namespace {

using Tokens = std::vector<int32_t>;

// The reference: what the header promises, written the obvious (slow) way.
struct ReferencePool {
  struct Entry {
    int32_t block;
    Tokens tokens;
  };
  std::vector<int32_t> refs;
  std::deque<int32_t> free_list;  // LRU order, head = least recently freed
  std::map<int32_t, uint64_t> hash_of;  // hashed blocks
  std::map<uint64_t, Entry> cached;
  bool prefix_cache;

  ReferencePool(int n, bool prefix) : refs(n, 0), prefix_cache(prefix) {
    for (int i = 0; i < n; ++i) free_list.push_back(i);
  }
  void forget(int32_t id) {
    auto h = hash_of.find(id);
    if (h == hash_of.end()) return;
    auto c = cached.find(h->second);
    if (c != cached.end() && c->second.block == id) cached.erase(c);
    hash_of.erase(h);
  }
  int32_t allocate() {
    if (free_list.empty()) return -1;
    const int32_t id = free_list.front();
    free_list.pop_front();
    forget(id);
    refs[id] = 1;
    return id;
  }
  void release(int32_t id) {
    if (--refs[id] == 0) {
      if (!prefix_cache) forget(id);
      free_list.push_back(id);
    }
  }
  int32_t lookup(uint64_t hash, const Tokens& tokens) {
    if (!prefix_cache) return -1;
    auto c = cached.find(hash);
    if (c == cached.end() || c->second.tokens != tokens) return -1;
    const int32_t id = c->second.block;
    if (refs[id] == 0) free_list.erase(std::find(free_list.begin(), free_list.end(), id));
    ++refs[id];
    return id;
  }
  void register_full(int32_t id, uint64_t hash, const Tokens& tokens) {
    if (!prefix_cache || hash_of.count(id) || cached.count(hash)) return;
    hash_of[id] = hash;
    cached[hash] = {id, tokens};
  }
  int64_t cached_free() const {
    int64_t n = 0;
    for (const auto& [h, e] : cached) n += refs[e.block] == 0;
    return n;
  }
};

void random_operations(bool prefix_cache, uint32_t seed, int num_ops) {
  std::mt19937 rng(seed);
  const int kBlocks = 24, kBlockSize = 3;
  BlockPool pool(kBlocks, kBlockSize, prefix_cache);
  ReferencePool ref(kBlocks, prefix_cache);
  std::vector<int32_t> held;  // one entry per reference we own
  // Hashes come from a tiny set, so the same hash is often registered with
  // other tokens: a lookup must then compare the tokens, not trust the hash.
  auto random_tokens = [&] {
    Tokens t(kBlockSize);
    for (auto& x : t) x = static_cast<int32_t>(rng() % 3);
    return t;
  };
  int hits = 0, collisions_rejected = 0, evictions = 0;
  for (int op = 0; op < num_ops; ++op) {
    switch (rng() % 6) {
      case 0:
      case 1: {
        const int64_t cached_before = pool.num_cached_free();
        const int32_t id = pool.allocate();
        ASSERT_EQ(id, ref.allocate()) << "op " << op << ": not the least recently freed block";
        if (id >= 0) held.push_back(id);
        evictions += pool.num_cached_free() < cached_before;
        break;
      }
      case 2:
        if (!held.empty()) {
          const size_t i = rng() % held.size();
          pool.release(held[i]);
          ref.release(held[i]);
          held.erase(held.begin() + static_cast<long>(i));
        }
        break;
      case 3:
        if (!held.empty()) {
          const int32_t id = held[rng() % held.size()];
          pool.retain(id);
          ++ref.refs[id];
          held.push_back(id);
        }
        break;
      case 4:
        if (!held.empty()) {
          const int32_t id = held[rng() % held.size()];
          const uint64_t hash = 1 + rng() % 8;
          const Tokens t = random_tokens();
          pool.register_full(id, hash, t);
          ref.register_full(id, hash, t);
        }
        break;
      case 5: {
        const uint64_t hash = 1 + rng() % 8;
        const Tokens t = random_tokens();
        const int32_t got = pool.lookup(hash, t);
        ASSERT_EQ(got, ref.lookup(hash, t)) << "op " << op;
        if (got >= 0) {
          held.push_back(got);
          ++hits;
        } else if (ref.cached.count(hash)) {
          ++collisions_rejected;
        }
        break;
      }
    }
    ASSERT_TRUE(pool.check_invariants()) << "op " << op;
    ASSERT_EQ(pool.num_free() + pool.num_used(), pool.num_blocks());
    ASSERT_EQ(pool.num_free(), static_cast<int64_t>(ref.free_list.size())) << "op " << op;
    ASSERT_EQ(pool.num_cached_free(), ref.cached_free()) << "op " << op;
    std::set<int32_t> distinct(held.begin(), held.end());
    ASSERT_EQ(static_cast<int64_t>(distinct.size()), pool.num_used());
    for (int32_t id = 0; id < kBlocks; ++id) ASSERT_EQ(pool.ref_count(id), ref.refs[id]) << "block " << id;
  }
  for (int32_t id : held) {
    pool.release(id);
    ref.release(id);
  }
  EXPECT_EQ(pool.num_used(), 0);
  EXPECT_TRUE(pool.check_invariants());
  // Drain the free list: the order is exactly the reference's LRU order.
  for (int i = 0; i < kBlocks; ++i) ASSERT_EQ(pool.allocate(), ref.allocate());
  EXPECT_EQ(pool.allocate(), -1);
  if (prefix_cache) {
    EXPECT_GT(hits, 20);
    EXPECT_GT(collisions_rejected, 20);
    EXPECT_GT(evictions, 0);
  } else {
    EXPECT_EQ(hits, 0);
  }
}

TEST(BlockPool, RandomOperationsMatchTheReferenceWithPrefixCache) {
  for (uint32_t seed = 1; seed <= 4; ++seed) random_operations(true, seed, 5000);
}

TEST(BlockPool, RandomOperationsMatchTheReferenceWithoutPrefixCache) {
  random_operations(false, 9, 5000);
}

TEST(BlockPool, AllocatesInIdOrderThenLeastRecentlyFreedFirst) {
  BlockPool pool(4, 2, false);
  EXPECT_EQ(pool.allocate(), 0);
  EXPECT_EQ(pool.allocate(), 1);
  EXPECT_EQ(pool.allocate(), 2);
  pool.release(1);
  pool.release(0);
  EXPECT_EQ(pool.allocate(), 3);  // never used: it was already in the list before 1 and 0
  EXPECT_EQ(pool.allocate(), 1);  // freed before 0
  EXPECT_EQ(pool.allocate(), 0);
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(BlockPool, HitReturnsTheExactBlockAndSharesIt) {
  BlockPool pool(4, 2, true);
  const Tokens t = {5, 6};
  const uint64_t h = BlockPool::chain_hash(0, t);
  const int32_t a = pool.allocate();
  pool.register_full(a, h, t);
  EXPECT_EQ(pool.lookup(h, t), a);  // shared while in use
  EXPECT_EQ(pool.ref_count(a), 2);
  pool.release(a);
  pool.release(a);
  EXPECT_EQ(pool.num_cached_free(), 1);
  EXPECT_EQ(pool.lookup(h, t), a);  // revived from the free list
  EXPECT_EQ(pool.ref_count(a), 1);
  EXPECT_EQ(pool.num_free(), 3);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(BlockPool, HashCollisionWithOtherTokensMisses) {
  BlockPool pool(4, 2, true);
  const Tokens t = {5, 6}, other = {5, 7};
  const uint64_t h = BlockPool::chain_hash(0, t);
  const int32_t a = pool.allocate();
  pool.register_full(a, h, t);
  pool.release(a);
  EXPECT_EQ(pool.lookup(h, other), -1);                 // same hash, other tokens
  EXPECT_EQ(pool.lookup(h, Tokens{5}), -1);             // same hash, fewer tokens
  EXPECT_EQ(pool.lookup(h, Tokens{5, 6, 7}), -1);       // same hash, more tokens
  EXPECT_EQ(pool.lookup(BlockPool::chain_hash(1, t), t), -1);  // other parent
  EXPECT_EQ(pool.num_free(), 4);
  // A second block registered under a hash already taken is not recorded.
  const int32_t b = pool.allocate();
  ASSERT_NE(b, a);
  pool.register_full(b, h, other);
  EXPECT_EQ(pool.lookup(h, other), -1);
  EXPECT_EQ(pool.lookup(h, t), a);
  EXPECT_TRUE(pool.check_invariants());
}

TEST(BlockPool, CachedBlocksAreEvictedLeastRecentlyFreedFirst) {
  BlockPool pool(3, 2, true);
  const Tokens ta = {1, 2}, tb = {3, 4}, tc = {5, 6};
  const uint64_t ha = BlockPool::chain_hash(0, ta), hb = BlockPool::chain_hash(0, tb), hc = BlockPool::chain_hash(0, tc);
  const int32_t a = pool.allocate(), b = pool.allocate(), c = pool.allocate();
  pool.register_full(a, ha, ta);
  pool.register_full(b, hb, tb);
  pool.register_full(c, hc, tc);
  pool.release(b);  // LRU order: b, c, a
  pool.release(c);
  pool.release(a);
  EXPECT_EQ(pool.num_cached_free(), 3);
  // A hit on c pulls it out; giving it back makes it the most recent: b, a, c.
  ASSERT_EQ(pool.lookup(hc, tc), c);
  pool.release(c);
  EXPECT_EQ(pool.allocate(), b);
  EXPECT_EQ(pool.lookup(hb, tb), -1);  // evicted: its content is gone
  EXPECT_EQ(pool.lookup(ha, ta), a);   // the others are still cached
  pool.release(a);                     // order now: c, a
  EXPECT_EQ(pool.allocate(), c);
  EXPECT_EQ(pool.lookup(hc, tc), -1);
  EXPECT_EQ(pool.num_cached_free(), 1);
}

TEST(BlockPool, WithoutPrefixCacheNothingIsFound) {
  BlockPool pool(2, 2, false);
  const Tokens t = {1, 2};
  const uint64_t h = BlockPool::chain_hash(0, t);
  const int32_t a = pool.allocate();
  pool.register_full(a, h, t);
  EXPECT_EQ(pool.lookup(h, t), -1);
  pool.release(a);
  EXPECT_EQ(pool.lookup(h, t), -1);
  EXPECT_EQ(pool.num_cached_free(), 0);
}

TEST(BlockPool, ChainHashDependsOnParentAndEveryToken) {
  const Tokens t = {1, 2, 3};
  const uint64_t h = BlockPool::chain_hash(0, t);
  EXPECT_NE(h, 0u);
  EXPECT_EQ(h, BlockPool::chain_hash(0, t));
  EXPECT_NE(h, BlockPool::chain_hash(h, t));
  EXPECT_NE(h, BlockPool::chain_hash(0, Tokens{1, 2, 4}));
  EXPECT_NE(h, BlockPool::chain_hash(0, Tokens{2, 1, 3}));
  EXPECT_NE(BlockPool::chain_hash(0, Tokens{0}), BlockPool::chain_hash(0, Tokens{0, 0}));
}

// Regression: the parent was XOR-ed into the start state and then mixed in
// byte by byte, which cancelled its low byte: parents 0..255 all gave one hash.
TEST(BlockPool, ChainHashSeparatesParentsThatDifferInTheirLowByte) {
  const Tokens t = {1, 2, 3};
  std::set<uint64_t> seen;
  for (uint64_t prev = 0; prev < 256; ++prev) seen.insert(BlockPool::chain_hash(prev, t));
  for (uint64_t prev = 1; prev < 256; ++prev) seen.insert(BlockPool::chain_hash(prev << 40 | 0x77, t));
  EXPECT_EQ(seen.size(), 511u);
}

TEST(BlockPool, MisuseThrows) {
  EXPECT_THROW(BlockPool(0, 16, true), std::invalid_argument);
  EXPECT_THROW(BlockPool(4, 0, true), std::invalid_argument);
  BlockPool pool(2, 2, true);
  EXPECT_THROW(pool.release(0), std::logic_error);  // free
  EXPECT_THROW(pool.retain(1), std::logic_error);
  EXPECT_THROW(pool.release(7), std::out_of_range);
  EXPECT_TRUE(pool.check_invariants());
}

}  // namespace
}  // namespace nucleus

// Maps sequences onto KV blocks: block tables, prefix-cache hits on
// admission, slots for new tokens (with copy-on-write of shared partial
// blocks), registration of newly full blocks, and release.
//
// Counts only: the floats live in KvStorage; the manager copies slots there
// when it copies a block on write.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/block_pool.h"
#include "model/kv_storage.h"

namespace nucleus {

// The KV side of one sequence.
struct SequenceKv {
  std::vector<int32_t> block_table;   // block ids, in position order
  std::vector<uint64_t> block_hashes;  // chained hashes of the leading full blocks registered so far
  int64_t num_computed = 0;           // tokens whose K/V is in the cache
};

class KvCacheManager {
 public:
  KvCacheManager(BlockPool& pool, KvStorage& storage);

  int block_size() const { return pool_.block_size(); }
  BlockPool& pool() { return pool_; }

  // Blocks needed to hold `num_tokens` tokens.
  int64_t blocks_for(int64_t num_tokens) const { return (num_tokens + block_size() - 1) / block_size(); }

  // For a sequence with no blocks yet: takes the longest cached prefix of
  // `tokens`, at most tokens.size() - 1 tokens (the last token is always
  // computed, so there are logits to sample from). Returns the tokens reused.
  int64_t match_prefix(SequenceKv& kv, std::span<const int32_t> tokens);

  // Ensures blocks for `n` more tokens after kv.num_computed, copying a shared
  // partial block before it is written. Returns false, changing nothing, when
  // the pool has too few free blocks.
  bool allocate(SequenceKv& kv, int64_t n);

  // KV slot of position `pos` (which allocate() covered).
  int32_t slot(const SequenceKv& kv, int64_t pos) const {
    return kv.block_table[pos / block_size()] * block_size() + static_cast<int32_t>(pos % block_size());
  }

  // After a step computed tokens up to kv.num_computed: registers every newly
  // full block in the prefix cache.
  void register_full_blocks(SequenceKv& kv, std::span<const int32_t> tokens);

  // `child` shares all of `parent`'s blocks (n > 1 after the prompt).
  void fork(const SequenceKv& parent, SequenceKv& child);

  // Drops the sequence's references (last block first, so the tail of a
  // prompt is evicted before its head) and resets it.
  void release(SequenceKv& kv);

 private:
  BlockPool& pool_;
  KvStorage& storage_;
};

}  // namespace nucleus

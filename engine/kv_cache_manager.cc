#include "engine/kv_cache_manager.h"

#include <span>
#include <stdexcept>

namespace nucleus {

KvCacheManager::KvCacheManager(BlockPool& pool, KvStorage& storage) : pool_(pool), storage_(storage) {
  if (pool.num_blocks() != storage.num_blocks() || pool.block_size() != storage.block_size()) {
    throw std::invalid_argument("KvCacheManager: block pool and KV storage disagree on size");
  }
}

int64_t KvCacheManager::match_prefix(SequenceKv& kv, std::span<const int32_t> tokens) {
  if (!kv.block_table.empty()) throw std::logic_error("match_prefix on a sequence that has blocks");
  if (!pool_.prefix_cache_enabled() || tokens.size() < 2) return 0;
  const int bs = block_size();
  const int64_t max_blocks = static_cast<int64_t>(tokens.size() - 1) / bs;
  uint64_t hash = 0;
  for (int64_t b = 0; b < max_blocks; ++b) {
    const std::span<const int32_t> block(tokens.data() + b * bs, bs);
    hash = BlockPool::chain_hash(hash, block);
    const int32_t id = pool_.lookup(hash, block);
    if (id < 0) break;
    kv.block_table.push_back(id);
    kv.block_hashes.push_back(hash);
  }
  kv.num_computed = static_cast<int64_t>(kv.block_table.size()) * bs;
  return kv.num_computed;
}

bool KvCacheManager::allocate(SequenceKv& kv, int64_t n) {
  const int bs = block_size();
  const int64_t needed = blocks_for(kv.num_computed + n) - static_cast<int64_t>(kv.block_table.size());
  // A partial block that another sequence also references must be copied before we write into it.
  const int64_t write_block = kv.num_computed / bs;
  const bool copy_on_write = n > 0 && kv.num_computed % bs != 0 &&
                             write_block < static_cast<int64_t>(kv.block_table.size()) &&
                             pool_.ref_count(kv.block_table[write_block]) > 1;
  if (std::max<int64_t>(needed, 0) + (copy_on_write ? 1 : 0) > pool_.num_free()) return false;
  if (copy_on_write) {
    const int32_t shared = kv.block_table[write_block];
    const int32_t copy = pool_.allocate();
    storage_.copy_slots(int64_t{shared} * bs, int64_t{copy} * bs, kv.num_computed % bs);
    pool_.release(shared);
    kv.block_table[write_block] = copy;
  }
  for (int64_t i = 0; i < needed; ++i) kv.block_table.push_back(pool_.allocate());
  return true;
}

void KvCacheManager::register_full_blocks(SequenceKv& kv, std::span<const int32_t> tokens) {
  if (!pool_.prefix_cache_enabled()) return;
  const int bs = block_size();
  const int64_t full = std::min<int64_t>(kv.num_computed, static_cast<int64_t>(tokens.size())) / bs;
  for (int64_t b = static_cast<int64_t>(kv.block_hashes.size()); b < full; ++b) {
    const std::span<const int32_t> block(tokens.data() + b * bs, bs);
    const uint64_t hash = BlockPool::chain_hash(b == 0 ? 0 : kv.block_hashes[b - 1], block);
    pool_.register_full(kv.block_table[b], hash, block);
    kv.block_hashes.push_back(hash);
  }
}

void KvCacheManager::fork(const SequenceKv& parent, SequenceKv& child) {
  if (!child.block_table.empty()) throw std::logic_error("fork into a sequence that has blocks");
  child = parent;
  for (int32_t id : child.block_table) pool_.retain(id);
}

void KvCacheManager::release(SequenceKv& kv) {
  for (auto it = kv.block_table.rbegin(); it != kv.block_table.rend(); ++it) pool_.release(*it);
  kv = SequenceKv{};
}

}  // namespace nucleus

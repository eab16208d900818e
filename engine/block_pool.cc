#include "engine/block_pool.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace nucleus {

BlockPool::BlockPool(int64_t num_blocks, int block_size, bool prefix_cache)
    : block_size_(block_size), prefix_cache_(prefix_cache), blocks_(num_blocks) {
  if (num_blocks <= 0 || num_blocks > INT32_MAX || block_size <= 0) {
    throw std::invalid_argument("BlockPool: bad size (" + std::to_string(num_blocks) + " blocks of " +
                                std::to_string(block_size) + " tokens)");
  }
  for (int32_t id = 0; id < static_cast<int32_t>(num_blocks); ++id) push_free_tail(id);
}

int64_t BlockPool::num_cached_free() const {
  int64_t n = 0;
  for (const auto& [hash, id] : cached_) n += blocks_[id].ref_count == 0;
  return n;
}

void BlockPool::push_free_tail(int32_t id) {
  Block& b = blocks_[id];
  b.prev = free_tail_;
  b.next = -1;
  if (free_tail_ >= 0) blocks_[free_tail_].next = id;
  else free_head_ = id;
  free_tail_ = id;
  b.in_free_list = true;
  ++num_free_;
}

void BlockPool::unlink_free(int32_t id) {
  Block& b = blocks_[id];
  if (b.prev >= 0) blocks_[b.prev].next = b.next;
  else free_head_ = b.next;
  if (b.next >= 0) blocks_[b.next].prev = b.prev;
  else free_tail_ = b.prev;
  b.prev = b.next = -1;
  b.in_free_list = false;
  --num_free_;
}

void BlockPool::forget_hash(int32_t id) {
  Block& b = blocks_[id];
  if (!b.hashed) return;
  auto it = cached_.find(b.hash);
  if (it != cached_.end() && it->second == id) cached_.erase(it);
  b.hashed = false;
  b.tokens.clear();
}

void BlockPool::forget_cached_prefixes() {
  for (int32_t id = 0; id < static_cast<int32_t>(blocks_.size()); ++id) forget_hash(id);
}

int32_t BlockPool::allocate() {
  if (free_head_ < 0) return -1;
  const int32_t id = free_head_;
  unlink_free(id);
  forget_hash(id);  // its old content is about to be overwritten
  blocks_[id].ref_count = 1;
  return id;
}

void BlockPool::retain(int32_t block) {
  Block& b = blocks_.at(block);
  if (b.ref_count <= 0) throw std::logic_error("BlockPool::retain on a free block");
  ++b.ref_count;
}

void BlockPool::release(int32_t block) {
  Block& b = blocks_.at(block);
  if (b.ref_count <= 0) throw std::logic_error("BlockPool::release on a free block");
  if (--b.ref_count == 0) {
    if (!prefix_cache_) forget_hash(block);
    push_free_tail(block);
  }
}

uint64_t BlockPool::chain_hash(uint64_t prev, std::span<const int32_t> tokens) {
  // FNV-1a over the parent hash and the token ids, then a final avalanche (splitmix64).
  // (The parent goes in through mix() only: XOR-ing it into the start state as
  // well cancelled its low byte, so parents differing only there collided.)
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  mix(prev);
  for (int32_t t : tokens) mix(static_cast<uint32_t>(t));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h == 0 ? 1 : h;  // 0 means "no parent"
}

int32_t BlockPool::lookup(uint64_t hash, std::span<const int32_t> tokens) {
  if (!prefix_cache_) return -1;
  auto it = cached_.find(hash);
  if (it == cached_.end()) return -1;
  const int32_t id = it->second;
  Block& b = blocks_[id];
  if (b.tokens.size() != tokens.size() || !std::equal(tokens.begin(), tokens.end(), b.tokens.begin())) return -1;
  if (b.ref_count == 0) unlink_free(id);
  ++b.ref_count;
  return id;
}

void BlockPool::register_full(int32_t block, uint64_t hash, std::span<const int32_t> tokens) {
  if (!prefix_cache_) return;
  Block& b = blocks_.at(block);
  if (b.hashed || cached_.count(hash)) return;
  b.hashed = true;
  b.hash = hash;
  b.tokens.assign(tokens.begin(), tokens.end());
  cached_.emplace(hash, block);
}

bool BlockPool::check_invariants() const {
  int64_t listed = 0;
  int32_t prev = -1;
  for (int32_t id = free_head_; id >= 0; id = blocks_[id].next) {
    if (blocks_[id].prev != prev || !blocks_[id].in_free_list || blocks_[id].ref_count != 0) return false;
    prev = id;
    if (++listed > num_blocks()) return false;  // a cycle
  }
  if (prev != free_tail_ || listed != num_free_) return false;
  int64_t zero = 0;
  for (const Block& b : blocks_) {
    if (b.ref_count < 0) return false;
    if ((b.ref_count == 0) != b.in_free_list) return false;
    zero += b.ref_count == 0;
  }
  for (const auto& [hash, id] : cached_) {
    if (!blocks_[id].hashed || blocks_[id].hash != hash) return false;
  }
  return zero == num_free_;
}

}  // namespace nucleus

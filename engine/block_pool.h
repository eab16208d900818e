// The KV block pool: fixed-size blocks, reference counted, with automatic
// prefix caching.
//
// A block is "used" while some sequence references it (ref_count > 0) and
// "free" otherwise. Free blocks sit in one intrusive doubly linked list in
// LRU order (least recently freed at the head); allocate() takes the head.
// A free block that still holds a full, hashed block of tokens stays findable
// by its hash until allocate() reuses it, so a later request with the same
// prefix gets it back (lookup() pulls it out of the free list in O(1)).
//
// Block hashes are chained: hash(block i) = H(hash(block i-1), tokens of
// block i), so a hit on block i implies the whole prefix matches, up to a
// 64-bit collision. The block's own token ids are re-checked on every hit, so
// a collision between blocks of different tokens never returns wrong KV; only
// two chains whose hashes collide AND whose last blocks hold the same tokens
// could (the parent is not re-checked).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace nucleus {

class BlockPool {
 public:
  BlockPool(int64_t num_blocks, int block_size, bool prefix_cache);

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int block_size() const { return block_size_; }
  int64_t num_free() const { return num_free_; }        // free, including cached ones
  int64_t num_used() const { return num_blocks() - num_free_; }
  int64_t num_cached_free() const;                      // free blocks still holding a hashed prefix
  bool prefix_cache_enabled() const { return prefix_cache_; }

  // Takes a free block (evicting its cached content, LRU first) with ref_count 1;
  // -1 when none is free.
  int32_t allocate();
  // Adds a reference (a second sequence sharing the block).
  void retain(int32_t block);
  // Drops a reference; at zero the block joins the tail of the free list.
  void release(int32_t block);
  int32_t ref_count(int32_t block) const { return blocks_.at(block).ref_count; }

  // Chained hash of a full block of tokens that follows a block hashed `prev` (0 for the first).
  static uint64_t chain_hash(uint64_t prev, std::span<const int32_t> tokens);

  // The cached block holding exactly `tokens` after parent hash `prev`, with a
  // reference added for the caller; -1 on a miss (or when caching is off).
  int32_t lookup(uint64_t hash, std::span<const int32_t> tokens);
  // Records that `block` (in use, full) holds `tokens` with chained hash `hash`.
  // Does nothing when caching is off or another block already holds that hash.
  void register_full(int32_t block, uint64_t hash, std::span<const int32_t> tokens);

  // Forgets every cached prefix (after a failed step, when KV contents are suspect).
  void forget_cached_prefixes();

  // Consistency check for tests: ref counts, free-list membership and counts agree.
  bool check_invariants() const;

 private:
  struct Block {
    int32_t ref_count = 0;
    bool hashed = false;
    uint64_t hash = 0;
    std::vector<int32_t> tokens;  // the block's tokens when hashed (for re-checking hits)
    int32_t prev = -1, next = -1;  // free list links
    bool in_free_list = false;
  };
  void push_free_tail(int32_t id);
  void unlink_free(int32_t id);
  void forget_hash(int32_t id);

  int block_size_;
  bool prefix_cache_;
  std::vector<Block> blocks_;
  int32_t free_head_ = -1, free_tail_ = -1;
  int64_t num_free_ = 0;
  std::unordered_map<uint64_t, int32_t> cached_;  // hash -> block id
};

}  // namespace nucleus

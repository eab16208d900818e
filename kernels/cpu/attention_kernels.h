// The query heads of one KV head against their sequence's keys: the unit of
// work of attention_cpu. Taking a KV head's query heads together (grouped-query
// attention shares one K/V among them) reads each key and value once for the
// group instead of once per query head; every query head's arithmetic is the
// same as alone, so grouping never changes a result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nucleus::kernels::cpu {

struct HeadJob {
  const float* q = nullptr;             // [n_queries, head_dim], query heads side by side
  float* out = nullptr;                 // [n_queries, head_dim]
  int n_queries = 1;                    // query heads sharing this KV head
  const float* k = nullptr;             // cache K of this KV head: slot s at k + s * slot_stride
  const float* v = nullptr;             // cache V of this KV head, same layout
  int64_t slot_stride = 0;              // floats per slot (n_kv_heads * head_dim)
  const int32_t* block_table = nullptr;  // the sequence's block ids
  int block_size = 0;
  int head_dim = 0;
  int n_keys = 0;                       // keys 0..n_keys-1 (position + 1)
  float scale = 0.0f;
  float* scores = nullptr;              // scratch [n_queries, n_keys]
};

inline int64_t key_slot(const HeadJob& job, int j) {
  return static_cast<int64_t>(job.block_table[j / job.block_size]) * job.block_size + j % job.block_size;
}

// For each query head: softmax(q . k_j * scale) weighted sum of v_j over j in order.
void attend_head_scalar(const HeadJob& job);
void attend_head_avx2(const HeadJob& job);  // only when avx2_enabled()

}  // namespace nucleus::kernels::cpu

// Consecutive query heads (those of one or a few KV heads) in one or a few
// token rows of one sequence, against that sequence's keys: the unit of work
// of attention_cpu. Grouped-query attention shares one K/V among a group's
// heads, and a prefill chunk's rows share their keys, so a job reads each
// key and value once for all its queries instead of once per query. A decode
// job takes several KV heads, whose rows of a block lie side by side in the
// cache (kernels/ops.h), so it streams one long run per block instead of a
// short run per head. Every query's arithmetic is the same as alone, so how
// queries are grouped never changes a result.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kv_dtype.h"

namespace nucleus::kernels::cpu {

// Query heads and token rows taken together, at most this many queries a job.
constexpr int kMaxJobQueries = 16;
constexpr int kMaxJobRows = 4;

// Query qi = r * n_queries + g is the job's head g in token row r; head g
// reads KV head (group_first + g) / group of the job's (0 = the one at k).
struct HeadJob {
  const float* q = nullptr;         // query qi at q + r * row_stride + g * head_dim
  float* out = nullptr;             // the same layout as q
  int n_queries = 1;                // consecutive query heads per row
  int group = 1;                    // query heads per KV head in the model
  int group_first = 0;              // the first head's place in its group (n_queries > 1: 0)
  int64_t kv_stride = 0;            // bytes from one KV head's rows (k, v) to the next's
  int n_rows = 1;                   // token rows of one sequence (n_rows * n_queries <= kMaxJobQueries)
  int64_t row_stride = 0;           // floats from one token row of q (and out) to the next
  int row_keys[kMaxJobRows] = {};   // keys 0..row_keys[r]-1 for row r (its position + 1)
  int row_first[kMaxJobRows] = {};  // row r sees keys row_first[r].. only (sliding window; else 0)
  float softcap = 0.0f;             // > 0: scores become softcap * tanh(score / softcap)
  KvDtype dtype = KvDtype::kF32;    // how K and V are stored (kv_dtype.h)
  // Key j of block table entry b = j / block_size is this KV head's row at
  // k + block_table[b] * block_bytes + (j % block_size) * key_stride (V alike).
  const uint8_t* k = nullptr;       // cache K: this KV head's row of slot 0
  const uint8_t* v = nullptr;       // cache V, same layout
  int64_t block_bytes = 0;          // bytes per block of the cache (all KV heads)
  int64_t key_stride = 0;           // bytes from a slot's row to the next slot's in a block
  const int32_t* block_table = nullptr;  // the sequence's block ids
  int block_size = 0;
  int head_dim = 0;
  int n_keys = 0;                       // max of row_keys: the scores stride
  float scale = 0.0f;
  float* scores = nullptr;              // scratch [n_rows * n_queries, n_keys]

  int total_queries() const { return n_rows * n_queries; }
  int kv_heads() const { return (group_first + n_queries - 1) / group + 1; }
  // Byte offset of query qi's KV head from k (and v).
  int64_t kv_offset(int qi) const { return static_cast<int64_t>((group_first + qi % n_queries) / group) * kv_stride; }
  int keys_of(int qi) const { return row_keys[qi / n_queries]; }
  int first_of(int qi) const { return row_first[qi / n_queries]; }
  // A window or a soft-cap: the scores need more than the plain softmax.
  bool masked() const {
    if (softcap > 0.0f) return true;
    for (int r = 0; r < n_rows; ++r) {
      if (row_first[r] > 0) return true;
    }
    return false;
  }
  int64_t offset_of(int qi) const { return (qi / n_queries) * row_stride + static_cast<int64_t>(qi % n_queries) * head_dim; }
  const float* query(int qi) const { return q + offset_of(qi); }
  float* output(int qi) const { return out + offset_of(qi); }
  float* scores_of(int qi) const { return scores + static_cast<int64_t>(qi) * n_keys; }
  // Query qi alone, as a job of one query (same K, V, blocks and scratch row).
  // Defined in attention_cpu.cc, not here: an inline member that the AVX2
  // file does not inline is emitted there as a weak copy compiled for AVX2,
  // and the linker may give that copy to the scalar path too
  // (tests/cli/isa_symbols_test.sh).
  HeadJob single(int qi) const;
};

// Byte offset of key j's row from job.k (and of its value's from job.v).
inline int64_t key_offset(const HeadJob& job, int j) {
  return static_cast<int64_t>(job.block_table[j / job.block_size]) * job.block_bytes +
         static_cast<int64_t>(j % job.block_size) * job.key_stride;
}

// The softmax numerators of scores[0..n-1]: scores[j] = exp(scores[j] - max),
// returning their sum, as attend_head_avx2 and attend_head_scalar compute it.
using NumeratorsFn = float (*)(float*, int, float);

// Query qi's scores (all keys 0..keys_of(qi)-1 computed) made masked softmax
// numerators: soft-capped, keys before first_of(qi) set to 0, the rest
// exp(s - max of the visible ones). Returns 1 / their sum. Only for masked() jobs.
float masked_softmax_numerators(const HeadJob& job, int qi, NumeratorsFn numerators);

// For each query of the job: softmax(q . k_j * scale) weighted sum of v_j over
// the visible keys j (masked ones weigh 0), in order. Both give bitwise the
// same out for every dtype (the scalar one emulates the AVX2 one's 8 lanes):
//   score_j = hsum(8-lane FMA chain of q[i] * k_j[i] over i < head_dim & ~7),
//             then FMAs of the head_dim % 8 tail in order, times scale;
//   p_j     = exp_poly(score_j - max) (vec_math_*.h), summed in 8 lanes by
//             j % 8, then hsum; inv = 1 / that sum;
//   out[i]  = (fma(p_j, v_j[i], acc) over j in order, from 0) * inv.
void attend_head_scalar(const HeadJob& job);
void attend_head_avx2(const HeadJob& job);  // only when avx2_enabled()

}  // namespace nucleus::kernels::cpu

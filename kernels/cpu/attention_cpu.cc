// Causal grouped-query attention over the paged KV cache. Each query head of a
// token row reads its keys 0..pos in order and nothing else, so its result is
// the same alone, in any batch, and with any thread count. The scalar path
// here performs the AVX2 path's float operations in its order (its 8 lanes
// emulated, exp_poly for exp256), so the two give bitwise the same result.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/vec_math_scalar.h"

namespace nucleus::kernels::cpu {

namespace {

// The AVX2 path's dot() (attention_avx2.cc) in scalar code: 8 lanes, lane l
// an FMA chain over elements i = l mod 8, summed in hsum's tree, then the
// tail of head_dim % 8 elements FMA'd in order.
template <KvDtype D>
float dot_lanes(const float* q, const uint8_t* k, int n) {
  float lanes[8] = {};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] = std::fma(q[i + l], kv_element<D>(k, i + l), lanes[l]);
  }
  float sum = hsum8(lanes);
  for (; i < n; ++i) sum = std::fma(q[i], kv_element<D>(k, i), sum);
  return sum;
}

// The AVX2 softmax_numerators: key j's numerator joins lane j % 8.
float scalar_numerators(float* scores, int n, float max_score) {
  float lanes[8] = {};
  for (int j = 0; j < n; ++j) {
    scores[j] = exp_poly(scores[j] - max_score);
    lanes[j % 8] += scores[j];
  }
  return hsum8(lanes);
}

template <KvDtype D>
void attend_one_head_scalar(const HeadJob& job) {
  const int d = job.head_dim;
  float max_score = -INFINITY;
  for (int j = 0; j < job.n_keys; ++j) {
    job.scores[j] = dot_lanes<D>(job.q, job.k + key_offset(job, j), d) * job.scale;
    max_score = std::fmax(max_score, job.scores[j]);
  }
  const float inv = job.masked() ? masked_softmax_numerators(job, 0, scalar_numerators)
                                 : 1.0f / scalar_numerators(job.scores, job.n_keys, max_score);
  for (int i = 0; i < d; ++i) job.out[i] = 0.0f;
  for (int j = 0; j < job.n_keys; ++j) {
    const uint8_t* v = job.v + key_offset(job, j);
    const float p = job.scores[j];
    for (int i = 0; i < d; ++i) job.out[i] = std::fma(p, kv_element<D>(v, i), job.out[i]);
  }
  for (int i = 0; i < d; ++i) job.out[i] *= inv;
}

template <KvDtype D>
void attend_head_scalar_as(const HeadJob& job) {
  for (int qi = 0; qi < job.total_queries(); ++qi) attend_one_head_scalar<D>(job.single(qi));
}

}  // namespace

HeadJob HeadJob::single(int qi) const {
  HeadJob one = *this;
  one.q = query(qi);
  one.out = output(qi);
  one.k = k + kv_offset(qi);
  one.v = v + kv_offset(qi);
  one.group = 1;
  one.group_first = 0;
  one.n_queries = one.n_rows = 1;
  one.n_keys = one.row_keys[0] = keys_of(qi);
  one.row_first[0] = first_of(qi);
  one.scores = scores_of(qi);
  return one;
}

float masked_softmax_numerators(const HeadJob& job, int qi, NumeratorsFn numerators) {
  float* scores = job.scores_of(qi);
  const int first = job.first_of(qi), keys = job.keys_of(qi);
  float max_score = -INFINITY;
  for (int j = first; j < keys; ++j) {
    if (job.softcap > 0.0f) scores[j] = job.softcap * std::tanh(scores[j] / job.softcap);
    max_score = std::fmax(max_score, scores[j]);
  }
  for (int j = 0; j < first; ++j) scores[j] = 0.0f;
  return 1.0f / numerators(scores + first, keys - first, max_score);
}

void attend_head_scalar(const HeadJob& job) {
  switch (job.dtype) {
    case KvDtype::kF16: return attend_head_scalar_as<KvDtype::kF16>(job);
    case KvDtype::kQ8_0: return attend_head_scalar_as<KvDtype::kQ8_0>(job);
    case KvDtype::kF32: return attend_head_scalar_as<KvDtype::kF32>(job);
  }
}

void attention_cpu(ThreadPool& pool, const float* q, const KvLayerView& cache, const AttentionBatch& batch,
                   int n_heads, float scale, float* out) {
  const auto attend = avx2_enabled() ? attend_head_avx2 : attend_head_scalar;
  const int group = n_heads / cache.n_kv_heads;
  const auto block_bytes = static_cast<int64_t>(cache.slot_bytes()) * batch.block_size;
  // From one slot's row of a KV head to the next slot's (consecutive rows, or
  // a slot apart in the slot-major layout) and to the next KV head's rows,
  // both from the cache's layout (kernels/ops.h).
  const auto key_stride = static_cast<int64_t>(cache.row_offset(1, 0) - cache.row_offset(0, 0));
  const auto kv_stride = static_cast<int64_t>(cache.row_offset(0, 1) - cache.row_offset(0, 0));
  const int64_t q_row = static_cast<int64_t>(n_heads) * cache.head_dim;
  // Work items: a tile of token rows and the query heads of one or more KV
  // heads, so K and V are read once for all of an item's queries. A tile is
  // up to kMaxJobRows consecutive rows of one sequence (a prefill chunk's
  // rows share their keys; decode rows are one per sequence). A decode row
  // takes as many KV heads as fit a job while every thread still gets an
  // item: their rows of a block are side by side, one long run to stream
  // (batch-1 decode of a 1B Llama on 2 threads: 2 items of 4 KV heads). When
  // one KV head per item leaves too few items to keep every thread busy
  // (batch-1 decode with 3 KV heads on 2 threads), one item per query head.
  // However queries are grouped, each one's result is the same
  // (attention_kernels.h).
  int per_item = 1;  // query heads per KV head and item: the largest divisor of group that fits a job
  for (int d = std::min(group, kMaxJobQueries); d >= 1; --d) {
    if (group % d == 0) {
      per_item = d;
      break;
    }
  }
  const int max_rows = std::min(kMaxJobRows, kMaxJobQueries / per_item);  // per_item <= kMaxJobQueries
  std::vector<std::pair<int64_t, int>> tiles;  // (first row, rows)
  for (int64_t t = 0; t < batch.num_tokens;) {
    int rows = 1;
    while (rows < max_rows && t + rows < batch.num_tokens && batch.token_seq[t + rows] == batch.token_seq[t]) ++rows;
    tiles.emplace_back(t, rows);
    t += rows;
  }
  int64_t single_rows = 0;
  for (const auto& tile : tiles) single_rows += tile.second == 1;
  const int64_t per_kv_head = static_cast<int64_t>(tiles.size()) * (n_heads / per_item);
  int kv_span = 1;  // KV heads per item of a one-row tile
  if (per_item == group) {
    for (int d = std::min(cache.n_kv_heads, kMaxJobQueries / group); d > 1; --d) {
      const int64_t count = per_kv_head - single_rows * (cache.n_kv_heads - cache.n_kv_heads / d);
      if (cache.n_kv_heads % d == 0 && count >= pool.num_threads()) {
        kv_span = d;
        break;
      }
    }
  }
  struct Item {
    int64_t t;  // first token row
    int rows;
    int h;      // first query head
    int heads;  // query heads
  };
  std::vector<Item> work;
  if (kv_span == 1 && per_kv_head < 4 * pool.num_threads()) {
    for (int64_t t = 0; t < batch.num_tokens; ++t) {
      for (int h = 0; h < n_heads; ++h) work.push_back({t, 1, h, 1});
    }
  } else {
    for (const auto& [t, rows] : tiles) {
      const int heads = rows == 1 ? per_item * kv_span : per_item;
      for (int h = 0; h < n_heads; h += heads) work.push_back({t, rows, h, heads});
    }
  }
  // Dearest first (keys read x queries): the pool hands out chunks in order,
  // and a causal prefill's last rows cost most, so in row order the thread
  // that takes the last chunk finished ~12% after the other (8 chunks on 2
  // threads); longest first, the chunks even out. Items are independent, so
  // the order changes no result.
  const auto cost = [&](const Item& item) {
    const int64_t keys = batch.token_pos[item.t + item.rows - 1] + 1;
    return keys * item.rows * item.heads;
  };
  std::stable_sort(work.begin(), work.end(), [&](const Item& x, const Item& y) { return cost(x) > cost(y); });
  const auto items = static_cast<int64_t>(work.size());
  pool.parallel_for(items, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> scores;
    for (int64_t item = i0; item < i1; ++item) {
      const auto [t, rows, h, heads] = work[static_cast<size_t>(item)];
      const int kv_head = h / group;
      HeadJob job;
      job.q = q + t * q_row + static_cast<int64_t>(h) * cache.head_dim;
      job.out = out + t * q_row + static_cast<int64_t>(h) * cache.head_dim;
      job.n_queries = heads;
      job.group = group;
      job.group_first = h % group;
      job.kv_stride = kv_stride;
      job.n_rows = rows;
      job.row_stride = q_row;
      job.n_keys = 0;
      for (int r = 0; r < rows; ++r) {
        job.row_keys[r] = batch.token_pos[t + r] + 1;
        job.row_first[r] = batch.sliding_window > 0 ? std::max(0, job.row_keys[r] - batch.sliding_window) : 0;
        job.n_keys = std::max(job.n_keys, job.row_keys[r]);
      }
      job.softcap = batch.softcap;
      job.dtype = cache.dtype;
      job.k = static_cast<const uint8_t*>(cache.k) + cache.row_offset(0, kv_head);
      job.v = static_cast<const uint8_t*>(cache.v) + cache.row_offset(0, kv_head);
      job.block_bytes = block_bytes;
      job.key_stride = key_stride;
      job.block_table = batch.block_tables + static_cast<int64_t>(batch.token_seq[t]) * batch.max_blocks_per_seq;
      job.block_size = batch.block_size;
      job.head_dim = cache.head_dim;
      job.scale = scale;
      const size_t need = static_cast<size_t>(job.n_keys) * static_cast<size_t>(job.total_queries());
      if (scores.size() < need) scores.resize(need);
      job.scores = scores.data();
      attend(job);
    }
  });
}

}  // namespace nucleus::kernels::cpu

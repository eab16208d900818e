// Embedding lookup and KV cache writes (rounded to the cache dtype): row by
// row, split over token rows.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace nucleus::kernels::cpu {

void embedding_cpu(ThreadPool& pool, const WeightView& table, const int32_t* ids, int64_t T, float* out) {
  const auto* data = static_cast<const uint8_t*>(table.data);
  pool.parallel_for(T, std::max<int64_t>(1, 8192 / table.cols), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      dequantize_row(table.type, data + static_cast<size_t>(ids[t]) * table.row_bytes, out + t * table.cols, table.cols);
    }
  });
}

void write_kv_cpu(ThreadPool& pool, const KvLayerView& cache, const float* k_new, const float* v_new,
                  const int32_t* slot_mapping, int64_t T) {
  const int64_t row = static_cast<int64_t>(cache.n_kv_heads) * cache.head_dim;
  auto* k = static_cast<uint8_t*>(cache.k);
  auto* v = static_cast<uint8_t*>(cache.v);
  pool.parallel_for(T, std::max<int64_t>(1, 8192 / std::max<int64_t>(row, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t slot = slot_mapping[t];
      if (slot < 0) continue;
      // Head by head (each a whole number of Q8_0 blocks): the same bytes as
      // one row, placed where the layout keeps each head (ops.h).
      for (int h = 0; h < cache.n_kv_heads; ++h) {
        const int64_t from = t * row + static_cast<int64_t>(h) * cache.head_dim;
        const size_t to = cache.row_offset(slot, h);
        kv_encode_row(cache.dtype, k_new + from, cache.head_dim, k + to);
        kv_encode_row(cache.dtype, v_new + from, cache.head_dim, v + to);
      }
    }
  });
}

}  // namespace nucleus::kernels::cpu

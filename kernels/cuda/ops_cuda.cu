// Elementwise ops, RMSNorm, RoPE, embedding, KV writes and paged attention on
// the device (matmul is in matmul_cuda.cu; cuda_ops.h says where pointers live).
// Arguments were validated by kernels/ops_dispatch.cc. Each kernel computes one output
// element (or one row, or one (token, head)) with a fixed order of operations,
// so a row's result does not depend on the other rows of the batch.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_buffer.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/int_upload.h"
#include "kernels/cuda/ops_math.h"
#include "kernels/cuda/weights_cuda.h"
#include "kernels/fp16.h"
#include "kernels/ggml_types.h"
#include "kernels/kv_dtype.h"

namespace nucleus::kernels::cuda {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t n, int threads = kThreads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

// ---- kernels -----------------------------------------------------------------------------

// One block per row: sum of squares in double, strided per thread then a fixed tree.
__global__ void rms_norm_kernel(const float* x, const float* w, int64_t n, float eps, float* out) {
  __shared__ double shared[32];
  const float* xt = x + static_cast<int64_t>(blockIdx.x) * n;
  float* ot = out + static_cast<int64_t>(blockIdx.x) * n;
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += static_cast<double>(xt[i]) * xt[i];
  s = block_reduce(s, SumOp{}, 0.0, shared);
  const float scale = rms_scale(s, n, eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ot[i] = xt[i] * scale * w[i];
}

// One thread per (token, head, pair).
__global__ void rope_kernel(float* x, const int32_t* positions, int64_t T, int n_heads, int head_dim, int rot_dim,
                            bool neox, float freq_base, float freq_scale) {
  const int half = rot_dim / 2;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= T * n_heads * half) return;
  const int pair = static_cast<int>(i % half);
  const int64_t th = i / half;  // token * n_heads + head
  const int64_t t = th / n_heads;
  float* xh = x + th * head_dim;
  const double theta = rope_theta(positions[t], freq_scale, freq_base, pair, rot_dim);
  const float c = static_cast<float>(cos(theta)), s = static_cast<float>(sin(theta));
  int a, b;
  rope_pair(neox, pair, half, &a, &b);
  const float x0 = xh[a], x1 = xh[b];
  xh[a] = x0 * c - x1 * s;
  xh[b] = x0 * s + x1 * c;
}

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t n, float* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = silu_mul(gate[i], up[i]);
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += x[i];
}

// Rows of a device table (F32, F16 or Q8_0) by id: one block per token row.
__global__ void gather_kernel(const uint8_t* table, GgmlType type, size_t row_bytes, const int32_t* ids, int64_t cols,
                              float* out) {
  const int64_t t = blockIdx.x;
  const uint8_t* row = table + static_cast<size_t>(ids[t]) * row_bytes;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float v;
    if (type == GgmlType::F32) {
      v = reinterpret_cast<const float*>(row)[c];
    } else if (type == GgmlType::F16) {
      v = fp16_to_float(reinterpret_cast<const uint16_t*>(row)[c]);
    } else {  // Q8_0: blocks of 32 = fp16 scale + 32 int8, as dequantize_row
      const auto* block = reinterpret_cast<const BlockQ8_0*>(row) + c / kQK;
      v = fp16_to_float(block->d) * static_cast<float>(block->qs[c % kQK]);
    }
    out[t * cols + c] = v;
  }
}

// One block per token row; a negative slot skips the row. Each element is
// rounded to D as the CPU's write_kv rounds it (kv_dtype.h): Q8_0 one thread
// per block of 32.
template <KvDtype D>
__global__ void write_kv_kernel(uint8_t* k, uint8_t* v, const float* k_new, const float* v_new, const int32_t* slots,
                                int n_kv_heads, int head_dim, int cache_block, int64_t head_bytes) {
  const int64_t t = blockIdx.x;
  const int64_t slot = slots[t];
  if (slot < 0) return;
  const int64_t row = static_cast<int64_t>(n_kv_heads) * head_dim;
  // Element i of the row is element i % head_dim of head i / head_dim, whose
  // row the layout places at kv_row_offset (kv_dtype.h).
  auto at = [&](uint8_t* base, int64_t i) {
    return base + kv_row_offset(slot, static_cast<int>(i / head_dim), n_kv_heads, cache_block, head_bytes);
  };
  if constexpr (D == KvDtype::kQ8_0) {
    const int64_t per_head = head_dim / kQK;
    for (int64_t b = threadIdx.x; b < row / kQK; b += blockDim.x) {
      kv_quantize_q8_0(k_new + t * row + b * kQK, reinterpret_cast<BlockQ8_0*>(at(k, b * kQK)) + b % per_head);
      kv_quantize_q8_0(v_new + t * row + b * kQK, reinterpret_cast<BlockQ8_0*>(at(v, b * kQK)) + b % per_head);
    }
  } else if constexpr (D == KvDtype::kF16) {
    for (int64_t i = threadIdx.x; i < row; i += blockDim.x) {
      reinterpret_cast<uint16_t*>(at(k, i))[i % head_dim] = float_to_fp16(k_new[t * row + i]);
      reinterpret_cast<uint16_t*>(at(v, i))[i % head_dim] = float_to_fp16(v_new[t * row + i]);
    }
  } else {
    for (int64_t i = threadIdx.x; i < row; i += blockDim.x) {
      reinterpret_cast<float*>(at(k, i))[i % head_dim] = k_new[t * row + i];
      reinterpret_cast<float*>(at(v, i))[i % head_dim] = v_new[t * row + i];
    }
  }
}

// Paged causal GQA attention: one block of kAttnThreads per (token row, query head).
// Keys 0..pos are visited in chunks of blockDim.x in position order: each thread
// scores one key of the chunk (dot product in float, in dimension order), then the
// chunk is folded into a running (max, sum, out) -- the online softmax. Each output
// dimension is owned by one thread and accumulated in key order. The same code
// serves prefill chunks (many rows per sequence) and decode (one row).
// K and V are read in their stored dtype D, each element widened to float as
// it is used (kv_element). Dynamic shared memory: q (head_dim floats) +
// scores (blockDim.x floats).
constexpr int kAttnThreads = 128;

template <KvDtype D>
__global__ void attention_kernel(const float* q, const uint8_t* k_cache, const uint8_t* v_cache,
                                 const int32_t* token_seq, const int32_t* token_pos, const int32_t* block_tables,
                                 int max_blocks_per_seq, int block_size, int n_heads, int n_kv_heads, int head_dim,
                                 int cache_block, int64_t head_bytes, float scale, float* out) {
  extern __shared__ float smem[];
  __shared__ float red[32];
  float* q_s = smem;
  float* p_s = smem + head_dim;
  const int64_t t = blockIdx.x / n_heads;
  const int h = static_cast<int>(blockIdx.x % n_heads);
  const int kv_head = h / (n_heads / n_kv_heads);
  const int64_t q_row = static_cast<int64_t>(n_heads) * head_dim;
  const float* qh = q + t * q_row + static_cast<int64_t>(h) * head_dim;
  float* oh = out + t * q_row + static_cast<int64_t>(h) * head_dim;
  const int32_t* table = block_tables + static_cast<int64_t>(token_seq[t]) * max_blocks_per_seq;
  const int n_keys = token_pos[t] + 1;
  // Key j's row of this KV head, at the same offset in K and V.
  auto row_of = [&](int j) {
    return kv_row_offset(kv_slot(table, block_size, j), kv_head, n_kv_heads, cache_block, head_bytes);
  };

  for (int i = threadIdx.x; i < head_dim; i += blockDim.x) q_s[i] = qh[i];
  __syncthreads();

  // Each thread owns dims threadIdx.x, +blockDim.x, ...; at most 4 per thread (head_dim <= 512).
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float running_max = -INFINITY, running_sum = 0.0f;
  for (int j0 = 0; j0 < n_keys; j0 += blockDim.x) {
    const int j = j0 + static_cast<int>(threadIdx.x);
    float score = -INFINITY;
    if (j < n_keys) {
      const uint8_t* kj = k_cache + row_of(j);
      float dot = 0.0f;
      for (int i = 0; i < head_dim; ++i) dot += q_s[i] * kv_element<D>(kj, i);
      score = dot * scale;
    }
    const float chunk_max = block_reduce(score, MaxOp{}, -INFINITY, red);
    const float new_max = running_max > chunk_max ? running_max : chunk_max;
    const float p = j < n_keys ? expf(score - new_max) : 0.0f;
    p_s[threadIdx.x] = p;
    const float chunk_sum = block_reduce(p, SumOp{}, 0.0f, red);  // also orders p_s writes before reads
    const float rescale = expf(running_max - new_max);             // 0 on the first chunk
    running_sum = running_sum * rescale + chunk_sum;
    running_max = new_max;
    const int chunk = min(static_cast<int>(blockDim.x), n_keys - j0);
    for (int r = 0, i = threadIdx.x; i < head_dim; ++r, i += blockDim.x) {
      float a = acc[r] * rescale;
      for (int jj = 0; jj < chunk; ++jj) {
        a += p_s[jj] * kv_element<D>(v_cache + row_of(j0 + jj), i);
      }
      acc[r] = a;
    }
    __syncthreads();  // p_s is rewritten by the next chunk
  }
  const float inv = 1.0f / running_sum;
  for (int r = 0, i = threadIdx.x; i < head_dim; ++r, i += blockDim.x) oh[i] = acc[r] * inv;
}

}  // namespace

// ---- ops -----------------------------------------------------------------------------------

void rms_norm_cuda(const Context& ctx, const float* x, const float* weight, int64_t T, int64_t n, float eps,
                   float* out) {
  if (T == 0) return;
  const float* w = device_floats(ctx, weight, n, "rms_norm");
  rms_norm_kernel<<<static_cast<unsigned>(T), kThreads>>>(x, w, n, eps, out);
  NUCLEUS_CUDA_CHECK_LAUNCH("rms_norm_kernel");
}

void rope_cuda(const Context&, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& p) {
  if (T == 0) return;
  const auto d = upload_ints({{positions, T}});
  const int64_t items = T * n_heads * (p.rot_dim / 2);
  rope_kernel<<<grid_for(items), kThreads>>>(x, d[0], T, n_heads, p.head_dim, p.rot_dim, p.style == RopeStyle::kNeox,
                                             p.freq_base, p.freq_scale);
  NUCLEUS_CUDA_CHECK_LAUNCH("rope_kernel");
}

void swiglu_cuda(const Context&, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  if (T * n == 0) return;
  swiglu_kernel<<<grid_for(T * n), kThreads>>>(gate, up, T * n, out);
  NUCLEUS_CUDA_CHECK_LAUNCH("swiglu_kernel");
}

void add_inplace_cuda(const Context&, float* y, const float* x, int64_t n) {
  if (n == 0) return;
  add_kernel<<<grid_for(n), kThreads>>>(y, x, n);
  NUCLEUS_CUDA_CHECK_LAUNCH("add_kernel");
}

void embedding_cuda(const Context&, const WeightView& table, const int32_t* ids, int64_t T, float* out) {
  if (T == 0) return;
  if (is_device_pointer(table.data)) {
    if (table.type != GgmlType::F32 && table.type != GgmlType::F16 && table.type != GgmlType::Q8_0) {
      throw std::invalid_argument("embedding: a device table must be F32, F16 or Q8_0, not " +
                                  std::string(ggml_type_name(table.type)));
    }
    const auto d = upload_ints({{ids, T}});
    gather_kernel<<<static_cast<unsigned>(T), kThreads>>>(static_cast<const uint8_t*>(table.data), table.type,
                                                           table.row_bytes, d[0], table.cols, out);
    NUCLEUS_CUDA_CHECK_LAUNCH("gather_kernel");
    return;
  }
  // A host table (the mmap'd GGUF): dequantize just the T rows on the host, exactly as
  // the CPU op does, and copy them up -- bitwise the CPU result, no fp16 rounding.
  thread_local std::vector<float> rows;  // kept: no allocation per step once grown
  rows.resize(static_cast<size_t>(T * table.cols));
  const auto* data = static_cast<const uint8_t*>(table.data);
  for (int64_t t = 0; t < T; ++t) {
    dequantize_row(table.type, data + static_cast<size_t>(ids[t]) * table.row_bytes, rows.data() + t * table.cols,
                   table.cols);
  }
  NUCLEUS_CUDA_CHECK(cudaMemcpy(out, rows.data(), rows.size() * sizeof(float), cudaMemcpyHostToDevice));
}

void write_kv_cuda(const Context&, const KvLayerView& cache, const float* k_new, const float* v_new,
                   const int32_t* slot_mapping, int64_t T) {
  if (T == 0) return;
  const auto d = upload_ints({{slot_mapping, T}});
  const auto head_bytes = static_cast<int64_t>(cache.head_bytes());
  auto* k = static_cast<uint8_t*>(cache.k);
  auto* v = static_cast<uint8_t*>(cache.v);
  const auto grid = static_cast<unsigned>(T);
  switch (cache.dtype) {
    case KvDtype::kF32:
      write_kv_kernel<KvDtype::kF32><<<grid, kThreads>>>(k, v, k_new, v_new, d[0], cache.n_kv_heads, cache.head_dim,
                                                         cache.block_size, head_bytes);
      break;
    case KvDtype::kF16:
      write_kv_kernel<KvDtype::kF16><<<grid, kThreads>>>(k, v, k_new, v_new, d[0], cache.n_kv_heads, cache.head_dim,
                                                         cache.block_size, head_bytes);
      break;
    case KvDtype::kQ8_0:
      write_kv_kernel<KvDtype::kQ8_0><<<grid, kThreads>>>(k, v, k_new, v_new, d[0], cache.n_kv_heads, cache.head_dim,
                                                          cache.block_size, head_bytes);
      break;
  }
  NUCLEUS_CUDA_CHECK_LAUNCH("write_kv_kernel");
}

void attention_cuda(const Context&, const float* q, const KvLayerView& cache, const AttentionBatch& batch,
                    int n_heads, float scale, float* out) {
  const int64_t T = batch.num_tokens;
  if (T == 0) return;
  if (cache.head_dim > 4 * kAttnThreads) {
    throw std::invalid_argument("attention: the CUDA kernel supports head_dim <= " + std::to_string(4 * kAttnThreads));
  }
  // Rows of block_tables that the batch uses: up to the largest sequence index.
  int64_t num_seqs = batch.num_seqs;
  if (num_seqs <= 0) {
    for (int64_t t = 0; t < T; ++t) num_seqs = std::max<int64_t>(num_seqs, batch.token_seq[t] + 1);
  }
  const auto d = upload_ints(
      {{batch.token_seq, T}, {batch.token_pos, T}, {batch.block_tables, num_seqs * batch.max_blocks_per_seq}});
  const size_t shared_bytes = static_cast<size_t>(cache.head_dim + kAttnThreads) * sizeof(float);
  const auto grid = static_cast<unsigned>(T * n_heads);
  const auto* k = static_cast<const uint8_t*>(cache.k);
  const auto* v = static_cast<const uint8_t*>(cache.v);
  auto launch = [&](auto kernel) {
    kernel<<<grid, kAttnThreads, shared_bytes>>>(q, k, v, d[0], d[1], d[2], batch.max_blocks_per_seq, batch.block_size,
                                                 n_heads, cache.n_kv_heads, cache.head_dim, cache.block_size,
                                                 static_cast<int64_t>(cache.head_bytes()), scale, out);
  };
  switch (cache.dtype) {
    case KvDtype::kF32: launch(attention_kernel<KvDtype::kF32>); break;
    case KvDtype::kF16: launch(attention_kernel<KvDtype::kF16>); break;
    case KvDtype::kQ8_0: launch(attention_kernel<KvDtype::kQ8_0>); break;
  }
  NUCLEUS_CUDA_CHECK_LAUNCH("attention_kernel");
}

}  // namespace nucleus::kernels::cuda

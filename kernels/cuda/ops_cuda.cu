// Elementwise ops, RoPE, embedding, KV writes and paged attention on CUDA.
// One thread block per row (token, or token x head for attention); reductions
// use a fixed tree inside the block, so a row's result does not depend on the
// other rows of the batch (batch invariance, as on the CPU).
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/fp16.h"

namespace nucleus::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Sum over the block in a fixed order: per-thread partials, then a tree.
__device__ float block_sum(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const float total = shared[0];
  __syncthreads();
  return total;
}

__global__ void rms_norm_kernel(const float* x, const float* w, int64_t n, float eps, float* out) {
  __shared__ float shared[kThreads];
  const float* row = x + blockIdx.x * n;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += row[i] * row[i];
  const float scale = rsqrtf(block_sum(ss, shared) / static_cast<float>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[blockIdx.x * n + i] = row[i] * scale * w[i];
}

__global__ void rope_kernel(float* x, const int32_t* positions, int n_heads, int head_dim, int rot_dim, float base,
                            float scale, bool neox) {
  const int t = blockIdx.x;
  const float pos = static_cast<float>(positions[t]) * scale;
  for (int k = threadIdx.x; k < n_heads * (rot_dim / 2); k += blockDim.x) {
    const int h = k / (rot_dim / 2), i = k % (rot_dim / 2);
    float* v = x + (static_cast<int64_t>(t) * n_heads + h) * head_dim;
    const float theta = pos * powf(base, -2.0f * static_cast<float>(i) / static_cast<float>(rot_dim));
    const int a = neox ? i : 2 * i, b = neox ? i + rot_dim / 2 : 2 * i + 1;
    float s, c;
    sincosf(theta, &s, &c);
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
  }
}

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t count, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

__global__ void add_kernel(float* y, const float* x, int64_t count) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < count) y[i] += x[i];
}

// Rows of F32, F16 or Q8_0 (blocks of 32: fp16 scale + 32 int8) tables.
__global__ void embedding_kernel(const uint8_t* table, int type, size_t row_bytes, const int32_t* ids, int64_t cols,
                                 float* out) {
  const uint8_t* row = table + static_cast<size_t>(ids[blockIdx.x]) * row_bytes;
  float* dst = out + blockIdx.x * cols;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    if (type == static_cast<int>(GgmlType::F32)) {
      dst[i] = reinterpret_cast<const float*>(row)[i];
    } else if (type == static_cast<int>(GgmlType::F16)) {
      dst[i] = __half2float(reinterpret_cast<const __half*>(row)[i]);
    } else {  // Q8_0
      const uint8_t* block = row + (i / 32) * 34;
      const __half d = *reinterpret_cast<const __half*>(block);
      dst[i] = __half2float(d) * static_cast<float>(reinterpret_cast<const int8_t*>(block + 2)[i % 32]);
    }
  }
}

__global__ void write_kv_kernel(float* k, float* v, const float* k_new, const float* v_new, const int32_t* slots,
                                int64_t width) {
  const int32_t slot = slots[blockIdx.x];
  if (slot < 0) return;
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) {
    k[slot * width + i] = k_new[blockIdx.x * width + i];
    v[slot * width + i] = v_new[blockIdx.x * width + i];
  }
}

// One block per (token, query head): scores over keys 0..pos in order, a
// block-wide max and sum, then the weighted sum of V, one output dim per thread.
__global__ void attention_kernel(const float* q, const float* kc, const float* vc, const int32_t* token_seq,
                                 const int32_t* token_pos, const int32_t* block_tables, int max_blocks, int block_size,
                                 int n_heads, int n_kv_heads, int head_dim, float scale, float* scores_all,
                                 int64_t max_keys, float* out) {
  __shared__ float shared[kThreads];
  const int t = blockIdx.x / n_heads, h = blockIdx.x % n_heads;
  const int kvh = h / (n_heads / n_kv_heads);
  const int pos = token_pos[t];
  const int32_t* table = block_tables + static_cast<int64_t>(token_seq[t]) * max_blocks;
  const float* qh = q + (static_cast<int64_t>(t) * n_heads + h) * head_dim;
  float* scores = scores_all + static_cast<int64_t>(blockIdx.x) * max_keys;
  const int64_t width = static_cast<int64_t>(n_kv_heads) * head_dim;
  float local_max = -INFINITY;
  for (int j = threadIdx.x; j <= pos; j += blockDim.x) {
    const int64_t slot = static_cast<int64_t>(table[j / block_size]) * block_size + j % block_size;
    const float* kj = kc + slot * width + kvh * head_dim;
    float dot = 0.0f;
    for (int d = 0; d < head_dim; ++d) dot += qh[d] * kj[d];
    scores[j] = dot * scale;
    local_max = fmaxf(local_max, scores[j]);
  }
  shared[threadIdx.x] = local_max;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const float max_score = shared[0];
  __syncthreads();
  float local_sum = 0.0f;
  for (int j = threadIdx.x; j <= pos; j += blockDim.x) {
    scores[j] = expf(scores[j] - max_score);
    local_sum += scores[j];
  }
  const float inv = 1.0f / block_sum(local_sum, shared);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j <= pos; ++j) {  // keys in position order
      const int64_t slot = static_cast<int64_t>(table[j / block_size]) * block_size + j % block_size;
      acc += scores[j] * vc[slot * width + kvh * head_dim + d];
    }
    out[(static_cast<int64_t>(t) * n_heads + h) * head_dim + d] = acc * inv;
  }
}

// A host index array copied to the device for the duration of one op.
class DeviceInts {
 public:
  DeviceInts(const int32_t* host, size_t n) : n_(n) {
    NUCLEUS_CUDA_CHECK(cudaMalloc(&data_, (n == 0 ? 1 : n) * sizeof(int32_t)));
    if (n) NUCLEUS_CUDA_CHECK(cudaMemcpy(data_, host, n * sizeof(int32_t), cudaMemcpyHostToDevice));
  }
  ~DeviceInts() { cudaFree(data_); }
  DeviceInts(const DeviceInts&) = delete;
  DeviceInts& operator=(const DeviceInts&) = delete;
  const int32_t* get() const { return data_; }

 private:
  int32_t* data_ = nullptr;
  size_t n_;
};

void check_launch() {
  NUCLEUS_CUDA_CHECK(cudaGetLastError());
  NUCLEUS_CUDA_CHECK(cudaDeviceSynchronize());
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>((count + kThreads - 1) / kThreads); }

}  // namespace

void rms_norm_cuda(const Context&, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out) {
  if (T == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(T), kThreads>>>(x, weight, n, eps, out);
  check_launch();
}

void rope_cuda(const Context&, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& p) {
  if (T == 0) return;
  const DeviceInts pos(positions, static_cast<size_t>(T));
  rope_kernel<<<static_cast<unsigned>(T), kThreads>>>(x, pos.get(), n_heads, p.head_dim, p.rot_dim, p.freq_base,
                                                      p.freq_scale, p.style == RopeStyle::kNeox);
  check_launch();
}

void swiglu_cuda(const Context&, const float* gate, const float* up, int64_t T, int64_t n, float* out) {
  if (T * n == 0) return;
  swiglu_kernel<<<blocks_for(T * n), kThreads>>>(gate, up, T * n, out);
  check_launch();
}

void add_inplace_cuda(const Context&, float* y, const float* x, int64_t n) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kThreads>>>(y, x, n);
  check_launch();
}

void embedding_cuda(const Context&, const WeightView& table, const int32_t* ids, int64_t T, float* out) {
  if (table.type != GgmlType::F32 && table.type != GgmlType::F16 && table.type != GgmlType::Q8_0) {
    throw std::runtime_error("embedding on CUDA supports F32, F16 and Q8_0 tables, not " +
                             std::string(ggml_type_name(table.type)));
  }
  if (T == 0) return;
  const DeviceInts dev_ids(ids, static_cast<size_t>(T));
  embedding_kernel<<<static_cast<unsigned>(T), kThreads>>>(static_cast<const uint8_t*>(table.data),
                                                           static_cast<int>(table.type), table.row_bytes,
                                                           dev_ids.get(), table.cols, out);
  check_launch();
}

void write_kv_cuda(const Context&, const KvLayerView& cache, const float* k_new, const float* v_new,
                   const int32_t* slot_mapping, int64_t T) {
  if (T == 0) return;
  const DeviceInts slots(slot_mapping, static_cast<size_t>(T));
  write_kv_kernel<<<static_cast<unsigned>(T), kThreads>>>(cache.k, cache.v, k_new, v_new, slots.get(),
                                                          static_cast<int64_t>(cache.n_kv_heads) * cache.head_dim);
  check_launch();
}

void attention_cuda(const Context&, const float* q, const KvLayerView& cache, const AttentionBatch& batch,
                    int n_heads, float scale, float* out) {
  const int64_t T = batch.num_tokens;
  if (T == 0) return;
  int64_t num_seqs = 0, max_keys = 1;
  for (int64_t t = 0; t < T; ++t) {
    num_seqs = std::max<int64_t>(num_seqs, batch.token_seq[t] + 1);
    max_keys = std::max<int64_t>(max_keys, batch.token_pos[t] + 1);
  }
  const DeviceInts seq(batch.token_seq, static_cast<size_t>(T)), pos(batch.token_pos, static_cast<size_t>(T));
  const DeviceInts tables(batch.block_tables, static_cast<size_t>(num_seqs * batch.max_blocks_per_seq));
  float* scores = nullptr;  // [T * n_heads, max_keys] softmax scratch
  NUCLEUS_CUDA_CHECK(cudaMalloc(&scores, static_cast<size_t>(T * n_heads * max_keys) * sizeof(float)));
  attention_kernel<<<static_cast<unsigned>(T * n_heads), kThreads>>>(
      q, cache.k, cache.v, seq.get(), pos.get(), tables.get(), batch.max_blocks_per_seq, batch.block_size, n_heads,
      cache.n_kv_heads, cache.head_dim, scale, scores, max_keys, out);
  const cudaError_t launch = cudaGetLastError();
  const cudaError_t done = cudaDeviceSynchronize();
  cudaFree(scores);
  NUCLEUS_CUDA_CHECK(launch);
  NUCLEUS_CUDA_CHECK(done);
}

}  // namespace nucleus::kernels::cuda

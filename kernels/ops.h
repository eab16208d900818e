// The ops the model is made of, behind one interface for every device.
//
// Each op validates its arguments here (ops_dispatch.cc) and dispatches on the device
// to a *_cpu.cc implementation (kernels/cpu/) or a .cu one (kernels/cuda/).
// A CPU-only build never references CUDA code: dispatching to CUDA then throws
// "unsupported device".
//
// Batch invariance (an invariant of the whole project): every output element
// is computed by one thread with a reduction order that depends only on the
// shapes of the weights, never on the number of rows in the batch, on the
// other rows, or on the thread count. So a sequence's logits are bitwise the
// same alone, inside any batch, and with any prefill chunking.
//
// Shapes are row-major and written as [rows, cols]. "T" is the number of token
// rows in a ragged batch (all new tokens of all sequences, laid end to end).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ggml_types.h"
#include "kernels/kv_dtype.h"
#include "kernels/thread_pool.h"

namespace nucleus::kernels {

enum class Device { kCpu, kCuda };
class DeviceWeights;  // kernels/device_weights.h

// A weight matrix as a GGUF file stores it: `rows` output features, each a
// row of `cols` elements of `type` (quantized rows are whole blocks).
// GGUF's shape [ne0, ne1] maps to cols = ne0, rows = ne1.
struct WeightView {
  GgmlType type = GgmlType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;  // ggml_row_size(type, cols)
  // The same rows repacked once for the CPU's AVX-512 kernels (packed_weight.h),
  // or null. The CPU reads these instead of `data` whenever that path runs.
  const void* cpu_packed = nullptr;
};

// Where the ops run and with how many threads.
struct Context {
  Device device = Device::kCpu;
  ThreadPool* pool = nullptr;  // CPU: required
  // CUDA: the device copies of the host weights (matrices, norms, biases) the
  // ops are given; the model sets its own. Ignored on the CPU.
  const DeviceWeights* weights = nullptr;
};

// y[T, w.rows] = x[T, w.cols] * w^T  (+ bias[w.rows] when bias != nullptr).
// Works for every type in ggml_types.h that is `supported`. Quantized weights
// are never dequantized as a whole: activations are quantized per row to
// 8-bit blocks and block dot products are accumulated in block order.
void matmul(const Context& ctx, const WeightView& w, const float* x, int64_t T, float* y, const float* bias = nullptr);

// Several weights applied to the same x[T, cols]: y_i[T, w_i.rows] = x * w_i^T
// (+ bias_i), as matmul() would give for each, bitwise. On the CPU the
// activations are quantized once and all the weights' rows are split over the
// pool in one pass, instead of a quantization and a hand-off per weight
// (Q, K and V projections; gate and up of the feed-forward block).
struct MatmulOutput {
  WeightView w;
  float* y = nullptr;
  const float* bias = nullptr;
};
void matmul_shared_input(const Context& ctx, const float* x, int64_t T, const MatmulOutput* outputs, int count);

// out[T, n] = x / sqrt(mean(x^2) + eps) * weight[n], per row.
void rms_norm(const Context& ctx, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out);

enum class RopeStyle {
  kNormal,  // llama: rotates pairs (x[2i], x[2i+1])
  kNeox,    // qwen2 / NEOX: rotates halves (x[i], x[i + rot_dim/2])
};
struct RopeParams {
  RopeStyle style = RopeStyle::kNormal;
  int head_dim = 0;
  int rot_dim = 0;          // dimensions rotated per head (<= head_dim), usually head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear scaling: position * freq_scale
  // Per rotated pair i, a divisor of its frequency (llama3 scaling's
  // rope_freqs, LongRoPE's factors): theta_i = pos * freq_scale *
  // freq_base^(-2i / rot_dim) / freq_factors[i]. [rot_dim / 2] floats in host
  // memory, or null for none (CPU only for now).
  const float* freq_factors = nullptr;
  // Multiplies cos and sin, so the rotated dims are scaled by it (LongRoPE's
  // attention factor, ggml's mscale; CPU only when != 1).
  float attn_factor = 1.0f;
  // YaRN (CPU only when on), as ggml's rope_yarn: pair i's angle mixes the
  // scaled and the unscaled one, theta = theta_scaled * (1 - m_i) + theta * m_i,
  // with m_i = yarn_ext_factor * ramp(i) (1 below the pairs that turn fewer than
  // beta_fast times over yarn_original_context, 0 above those that turn fewer
  // than beta_slow times, linear between), and cos/sin also multiplied by
  // 1 + 0.1 ln(1 / freq_scale). yarn_ext_factor 0: off.
  float yarn_ext_factor = 0.0f;
  int yarn_original_context = 0;
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
};
// In place on x[T, n_heads, head_dim]; positions[T] are absolute positions.
void rope(const Context& ctx, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& params);

// out[T, n] = silu(gate) * up, elementwise.
void swiglu(const Context& ctx, const float* gate, const float* up, int64_t T, int64_t n, float* out);

// out[T, n] = gelu_tanh(gate) * up, elementwise (GeGLU, the Gemma feed-forward), with
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). CPU only for now.
void geglu(const Context& ctx, const float* gate, const float* up, int64_t T, int64_t n, float* out);

// y[n] *= s (Gemma's embedding scale). CPU only for now.
void scale_inplace(const Context& ctx, float* y, float s, int64_t n);

// y[n] = cap * tanh(y / cap), cap > 0 (Gemma 2's final logit soft-capping). CPU only for now.
void softcap_inplace(const Context& ctx, float* y, float cap, int64_t n);

// y[n] += x[n].
void add_inplace(const Context& ctx, float* y, const float* x, int64_t n);

// out[T, table.cols] = rows ids[T] of the embedding table (any supported type).
// Throws std::out_of_range for an id outside [0, table.rows).
void embedding(const Context& ctx, const WeightView& table, const int32_t* ids, int64_t T, float* out);

// The KV cache of one layer: `num_slots` token slots, each holding
// n_kv_heads * head_dim elements of K and of V in `dtype` (kv_dtype.h), one
// row of head_bytes() per KV head (Q8_0: head_dim / 32 blocks per head). Slot
// s of block b is b * block_size + s. k and v are [num_slots / block_size,
// n_kv_heads, block_size, head_dim] elements: within a block, one KV head's
// rows are consecutive, so attention streams a head's keys as runs of
// block_size * head_bytes() bytes (with the slot-major layout it read
// head_bytes() out of every slot_bytes(), and decode at depth 4096 was
// bound by memory latency, not bandwidth). block_size 1 is the slot-major
// layout [num_slots, n_kv_heads, head_dim]. The engine's cache uses its
// block size; attention needs cache.block_size 1 or batch.block_size.
struct KvLayerView {
  void* k = nullptr;
  void* v = nullptr;
  int64_t num_slots = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  KvDtype dtype = KvDtype::kF32;
  int block_size = 1;  // slots per layout block (num_slots a multiple of it)

  size_t head_bytes() const { return kv_row_bytes(dtype, head_dim); }
  size_t slot_bytes() const { return head_bytes() * static_cast<size_t>(n_kv_heads); }
  // Byte offset of KV head `head`'s row of slot `slot` in k (and in v).
  size_t row_offset(int64_t slot, int head) const {
    return static_cast<size_t>(
        kv_row_offset(slot, head, n_kv_heads, block_size, static_cast<int64_t>(head_bytes())));
  }
};

// Writes k_new, v_new [T, n_kv_heads * head_dim] (float) into cache slots
// slot_mapping[T], each element rounded once to cache.dtype. A negative slot
// skips the row (padding).
void write_kv(const Context& ctx, const KvLayerView& cache, const float* k_new, const float* v_new,
              const int32_t* slot_mapping, int64_t T);

// The ragged batch as attention sees it.
struct AttentionBatch {
  int64_t num_tokens = 0;             // T
  const int32_t* token_seq = nullptr;  // [T] index of each token row's sequence
  const int32_t* token_pos = nullptr;  // [T] absolute position; the row attends to keys 0..pos
  const int32_t* block_tables = nullptr;  // [num_seqs, max_blocks_per_seq] KV block ids
  int max_blocks_per_seq = 0;
  int block_size = 16;
  int num_seqs = 0;  // rows of block_tables; when > 0, token_seq values are checked against it
  // The calling layer's masking (CPU only for now when set). sliding_window > 0:
  // a query at position p sees only keys p - sliding_window < j <= p (the
  // keys before stay in the cache, masked). softcap > 0: every score
  // s = q.k * scale becomes softcap * tanh(s / softcap) before the softmax.
  int sliding_window = 0;
  float softcap = 0.0f;
};

// Causal grouped-query attention of q[T, n_heads, head_dim] over the cache:
// out[T, n_heads * head_dim]. Keys are visited in position order 0..pos for
// every query, whatever the chunking (batch invariance). Query head h uses
// KV head h / (n_heads / n_kv_heads). scale is usually 1/sqrt(head_dim).
// The cache is read in its dtype, element by element (never dequantized as a
// whole), and on the CPU the AVX2 and scalar paths give bitwise the same out.
void attention(const Context& ctx, const float* q, const KvLayerView& cache, const AttentionBatch& batch, int n_heads,
               float scale, float* out);

}  // namespace nucleus::kernels

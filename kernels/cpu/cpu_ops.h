// The CPU implementations behind kernels/ops.h. ops_dispatch.cc has validated every
// argument before these run; each splits its work over the pool by output
// items (rows, heads, tokens), never by a reduction dimension.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace nucleus::kernels::cpu {

void matmul_cpu(ThreadPool& pool, const WeightView& w, const float* x, int64_t T, float* y, const float* bias);
void matmul_shared_input_cpu(ThreadPool& pool, const float* x, int64_t T, const MatmulOutput* outputs, int count);
void rms_norm_cpu(ThreadPool& pool, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out);
void rope_cpu(ThreadPool& pool, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& params);
void swiglu_cpu(ThreadPool& pool, const float* gate, const float* up, int64_t T, int64_t n, float* out);
void geglu_cpu(ThreadPool& pool, const float* gate, const float* up, int64_t T, int64_t n, float* out);
void scale_inplace_cpu(ThreadPool& pool, float* y, float s, int64_t n);
void softcap_inplace_cpu(ThreadPool& pool, float* y, float cap, int64_t n);
void add_inplace_cpu(ThreadPool& pool, float* y, const float* x, int64_t n);
void embedding_cpu(ThreadPool& pool, const WeightView& table, const int32_t* ids, int64_t T, float* out);
void write_kv_cpu(ThreadPool& pool, const KvLayerView& cache, const float* k_new, const float* v_new,
                  const int32_t* slot_mapping, int64_t T);
void attention_cpu(ThreadPool& pool, const float* q, const KvLayerView& cache, const AttentionBatch& batch,
                   int n_heads, float scale, float* out);

}  // namespace nucleus::kernels::cpu

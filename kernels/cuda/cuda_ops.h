// The ops of kernels/ops.h on a CUDA device; kernels/ops_dispatch.cc validates the
// arguments and dispatches here when ctx.device == Device::kCuda.
//
// Pointer convention: activations and the KV cache are DEVICE memory; every
// integer index array (token ids, positions, slot_mapping, token_seq, token_pos,
// block_tables) is HOST memory (or managed), as the engine builds it, and is
// copied to the device by the op (ops_dispatch.cc reads them on the host to validate).
// Weights (WeightView, rms_norm's weight, matmul's bias) may be DEVICE memory,
// or HOST memory such as the mmap'd GGUF file, registered in ctx.weights
// (kernels/device_weights.h: the model's own fp16 and float copies, made at
// load, freed with the model); an unregistered host weight is an error.
// Work is queued on the legacy default stream in call order; index arrays go
// up through a pinned staging arena (int_arena.h) without synchronising the host.
#pragma once

#include "kernels/ops.h"

namespace nucleus::kernels::cuda {

// y = x * w^T (+ bias) with cuBLAS, FP32 accumulation. A device w must be F32
// or F16; a host w of any supported type is read from its registered fp16 copy.
void matmul_cuda(const Context& ctx, const WeightView& w, const float* x, int64_t T, float* y, const float* bias);
// matmul_cuda for each output in turn, x converted to fp16 once for all of them.
void matmul_shared_input_cuda(const Context& ctx, const float* x, int64_t T, const MatmulOutput* outputs, int count);
void rms_norm_cuda(const Context& ctx, const float* x, const float* weight, int64_t T, int64_t n, float eps, float* out);
void rope_cuda(const Context& ctx, float* x, const int32_t* positions, int64_t T, int n_heads, const RopeParams& params);
void swiglu_cuda(const Context& ctx, const float* gate, const float* up, int64_t T, int64_t n, float* out);
void add_inplace_cuda(const Context& ctx, float* y, const float* x, int64_t n);
// Device tables of type F32, F16 or Q8_0; host tables of any supported type
// (the T rows are dequantized on the host, exactly as on the CPU).
void embedding_cuda(const Context& ctx, const WeightView& table, const int32_t* ids, int64_t T, float* out);
void write_kv_cuda(const Context& ctx, const KvLayerView& cache, const float* k_new, const float* v_new,
                   const int32_t* slot_mapping, int64_t T);
void attention_cuda(const Context& ctx, const float* q, const KvLayerView& cache, const AttentionBatch& batch,
                    int n_heads, float scale, float* out);

}  // namespace nucleus::kernels::cuda

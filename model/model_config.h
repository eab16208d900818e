// The hyperparameters of a decoder-only transformer, read from a GGUF file's
// metadata and checked against its tensors.
//
// Supported architectures: `llama` (normal RoPE, no biases) and `qwen2` (NEOX
// RoPE, biases on Q, K and V). from_gguf validates everything the forward pass
// relies on, so the model code can index tensors without re-checking:
//   token_embd.weight        [n_embd, vocab_size]          (GGUF order: ne0 first)
//   output_norm.weight       [n_embd]                      F32
//   output.weight            [n_embd, vocab_size]          absent -> tied to token_embd
//   blk.N.attn_norm.weight   [n_embd]                      F32
//   blk.N.attn_q.weight      [n_embd, n_heads * head_dim]
//   blk.N.attn_k.weight      [n_embd, n_kv_heads * head_dim]
//   blk.N.attn_v.weight      [n_embd, n_kv_heads * head_dim]
//   blk.N.attn_output.weight [n_heads * head_dim, n_embd]
//   blk.N.ffn_norm.weight    [n_embd]                      F32
//   blk.N.ffn_gate.weight    [n_embd, n_ff]
//   blk.N.ffn_up.weight      [n_embd, n_ff]
//   blk.N.ffn_down.weight    [n_ff, n_embd]
//   blk.N.attn_{q,k,v}.bias  [n_heads|n_kv_heads * head_dim]  F32, qwen2 only
// Norm weights and biases must be F32 (they are used as float arrays); matrices
// may be any supported type.
#pragma once

#include <string>

#include "model/gguf.h"
#include "kernels/ops.h"

namespace nucleus {

struct ModelConfig {
  std::string architecture;  // "llama" or "qwen2"
  int n_layers = 0;
  int n_embd = 0;          // hidden size
  int n_ff = 0;            // feed-forward (SwiGLU) inner size
  int n_heads = 0;         // query heads
  int n_kv_heads = 0;      // key/value heads (grouped-query attention: n_heads % n_kv_heads == 0)
  int head_dim = 0;        // <arch>.attention.key_length, else n_embd / n_heads
  int rope_dim = 0;        // dimensions rotated per head (even, <= head_dim)
  int vocab_size = 0;      // rows of token_embd.weight
  int context_length = 0;  // the context the model was trained for
  float rms_eps = 0.0f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor: positions are multiplied by it
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNormal;
  bool has_qkv_bias = false;
  bool tied_embeddings = false;  // no output.weight: the LM head is token_embd.weight

  int n_embd_q() const { return n_heads * head_dim; }      // width of Q and of attention's output
  int n_embd_kv() const { return n_kv_heads * head_dim; }  // width of K and of V
  int n_gqa() const { return n_heads / n_kv_heads; }       // query heads per KV head

  // The RoPE parameters for kernels::rope.
  kernels::RopeParams rope_params() const;

  // Reads and validates; throws GgufError("<file>: <problem>") naming the key or tensor.
  static ModelConfig from_gguf(const GgufFile& file);
};

}  // namespace nucleus

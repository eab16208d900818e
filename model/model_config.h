// The hyperparameters of a decoder-only transformer, read from a GGUF file's
// metadata and checked against its tensors.
//
// Supported architectures (llama.cpp's names and graphs, src/models/*.cpp):
//   llama   normal RoPE; llama3 scaling from rope_freqs.weight when present
//   qwen2   NEOX RoPE, biases on Q, K and V
//   qwen3   NEOX RoPE, RMSNorm over each head of Q and K before RoPE
//   gemma2  NEOX RoPE, embeddings * sqrt(n_embd), GeGLU (tanh GELU), RMSNorm
//           of the attention and FFN outputs (post norms), attention and final
//           logit soft-caps, sliding window on even layers (pattern 2)
//   gemma3  gemma2 with Q/K norms, no soft-caps (unless the file has one),
//           sliding window on 5 of every 6 layers, whose RoPE has its own base
//           (10000) and no scaling
//   phi3    NEOX RoPE, fused attn_qkv and fused gate/up ffn_up [2 * n_ff],
//           LongRoPE factors (the short ones: see rope_factors_tensor)
// Gemma's converter stores RMSNorm weights as 1 + w, so every norm here is a
// plain RMSNorm. Sliding windows are masks only: every key stays in the paged
// KV cache (correct with prefix caching, not yet the memory saving).
// from_gguf validates everything the forward pass relies on, and refuses a
// file holding a tensor the architecture does not use, so the model code can
// index tensors without re-checking:
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
//   blk.N.attn_{q,k}_norm.weight [head_dim]                F32, qwen3 and gemma3
//   blk.N.post_attention_norm.weight, blk.N.post_ffw_norm.weight [n_embd] F32, gemma2/3
//   blk.N.attn_qkv.weight    [n_embd, (n_heads + 2 n_kv_heads) * head_dim]  phi3 (instead of q, k, v)
//   blk.N.ffn_up.weight      [n_embd, 2 * n_ff]            phi3: gate rows then up rows (no ffn_gate)
//   rope_freqs.weight        [rope_dim / 2]                F32, llama (llama3 scaling)
//   rope_factors_{short,long}.weight [rope_dim / 2]        F32, phi3 (LongRoPE)
// Norm weights and biases must be F32 (they are used as float arrays); matrices
// may be any supported type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "kernels/ops.h"

namespace nucleus {

enum class FfnActivation {
  kSilu,      // SwiGLU: silu(gate) * up
  kGeluTanh,  // GeGLU: gelu_tanh(gate) * up (gemma)
};

struct ModelConfig {
  std::string architecture;  // one of the supported architectures above
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

  // Architecture features (see the table above).
  bool has_qk_norm = false;     // RMSNorm (rms_eps) over each head of Q and of K before RoPE
  bool has_post_norms = false;  // RMSNorm of the attention and FFN outputs before each residual add
  bool fused_qkv = false;       // attn_qkv holds Q, K and V rows, in that order
  bool fused_gate_up = false;   // ffn_up holds n_ff gate rows then n_ff up rows
  FfnActivation ffn_activation = FfnActivation::kSilu;
  float embd_scale = 1.0f;      // the embeddings are multiplied by it (gemma: sqrt(n_embd))
  float attn_scale = 0.0f;      // q.k scale: 1/sqrt(head_dim) (gemma 27B: 1/sqrt(n_embd / n_heads))
  float attn_softcap = 0.0f;    // > 0: scores become cap * tanh(score / cap)
  float final_softcap = 0.0f;   // > 0: the same on the logits
  int sliding_window = 0;       // > 0: the SWA layers see the last sliding_window keys only
  std::vector<uint8_t> swa_layers;  // [n_layers] 1 for a sliding-window layer
  float rope_freq_base_swa = 10000.0f;  // RoPE of the sliding-window layers (gemma2/3)
  float rope_freq_scale_swa = 1.0f;
  // Per-dimension frequency divisors for every layer's RoPE (kernels::RopeParams::freq_factors):
  // "rope_freqs.weight" (llama3 scaling) or "rope_factors_short.weight" (phi3 LongRoPE), or empty.
  // phi3 files also hold rope_factors_long, which llama.cpp uses when its context is longer than
  // the original one (rope.scaling.original_context_length): from_gguf picks the short factors,
  // select_rope_factors the long ones for such a context.
  std::string rope_factors_tensor;
  float rope_attn_factor = 1.0f;  // multiplies cos and sin (phi3: rope.scaling.attn_factor)
  bool rope_yarn = false;         // rope.scaling.type yarn (Qwen2.5 long context): kernels::RopeParams::yarn_*
  int rope_original_context = 0;  // rope.scaling.original_context_length, else (YaRN) context_length
  std::string rope_scaling;       // for people: "none", "linear x8", "llama3 (rope_freqs)", ...
  // A window the file states but llama.cpp does not apply, and neither do we (phi3, llama/Mistral).
  int sliding_window_ignored = 0;

  bool is_swa(int layer) const { return sliding_window > 0 && swa_layers[static_cast<size_t>(layer)] != 0; }
  int n_embd_q() const { return n_heads * head_dim; }      // width of Q and of attention's output
  int n_embd_kv() const { return n_kv_heads * head_dim; }  // width of K and of V
  int n_gqa() const { return n_heads / n_kv_heads; }       // query heads per KV head

  // The first feature of this model the CUDA ops do not have yet (GeGLU,
  // soft-caps, sliding windows, RoPE factors, YaRN, ...), or "" when it can run there.
  std::string cuda_unsupported_feature() const;

  // The RoPE parameters of layer `layer` for kernels::rope, without the
  // frequency factors (the model owns those floats).
  kernels::RopeParams rope_params(int layer = 0) const;

  // LongRoPE (phi3) for a model that will run sequences of up to `context` tokens: the long
  // factors when that exceeds rope_original_context, as llama.cpp chooses by its context size
  // (llama_model::get_rope_factors), else the short ones. No effect on other models.
  void select_rope_factors(int context);

  // Reads and validates; throws GgufError("<file>: <problem>") naming the key or tensor.
  static ModelConfig from_gguf(const GgufFile& file);
};

}  // namespace nucleus

// The transformer forward pass (the architectures of model_config.h) over a ragged batch.
//
// A ragged batch is every new token of every scheduled sequence laid end to
// end: a prefill chunk contributes many rows, a decoding sequence one. Each
// row carries its position and the KV slot its K/V goes to (slot_mapping);
// attention reads each sequence's keys through its block table. So the model
// never knows how memory is paged or how sequences were scheduled.
//
// Weights stay in the memory-mapped GGUF file (quantized matmuls read them in
// place); only 1-D tensors (norms, biases) are converted to float at load.
// The first forward pass on the CPU also repacks the matrices that have an
// AVX-512 packed kernel (kernels/packed_weight.h: same size, bitwise the same
// results), so the weights' bytes are held twice from then on.
// With a CUDA context the activations live in device memory; prepare() uploads
// every matrix (as fp16), norm and bias into the model's own DeviceWeights
// (kernels/device_weights.h), which the ops read through Context::weights and
// which is freed with the model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/kv_storage.h"
#include "model/model_config.h"
#include "kernels/device.h"
#include "kernels/device_weights.h"
#include "kernels/ops.h"
#include "kernels/packed_weight.h"

namespace nucleus {

struct ForwardBatch {
  // Per token row; T = tokens.size().
  std::vector<int32_t> tokens;        // [T] token ids
  std::vector<int32_t> positions;     // [T] absolute positions in their sequence
  std::vector<int32_t> token_seq;     // [T] index of the row's sequence in this batch
  std::vector<int32_t> slot_mapping;  // [T] KV slot each row's K/V is written to
  // Per sequence: block ids, row s at [s * max_blocks_per_seq, (s + 1) * max_blocks_per_seq).
  std::vector<int32_t> block_tables;
  int max_blocks_per_seq = 0;
  // Rows whose logits are wanted (usually the last new token of each sequence).
  std::vector<int32_t> logit_rows;

  int64_t num_tokens() const { return static_cast<int64_t>(tokens.size()); }
  void clear();
};

// How a model is loaded for the sequences it will run.
struct ModelOptions {
  // The longest sequence (tokens) it will run; 0: the file's context_length, which is what
  // Nucleus serves. Chooses phi3's LongRoPE factors (ModelConfig::select_rope_factors).
  int context = 0;
};

class Model {
 public:
  // Loads and validates a GGUF model (architecture, hyperparameters, tensor shapes).
  static std::unique_ptr<Model> load(const std::string& path, ModelOptions options = {});
  explicit Model(GgufFile file, ModelOptions options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const GgufFile& file() const { return file_; }
  // Bytes of weights read by one decode step (every matrix once).
  int64_t weight_bytes() const;

  // Readies the weights for ctx's device (CPU: the AVX-512 repacking), so the
  // first forward pass does not pay for it; forward() does it when not called.
  void prepare(const kernels::Context& ctx);

  // Runs the batch through every layer, writes its K/V into `kv`, and stores
  // logits [batch.logit_rows.size(), vocab_size] into `logits`. `kv` and
  // `logits` are memory of ctx.device; the batch's index arrays stay on the host.
  void forward(const kernels::Context& ctx, const ForwardBatch& batch, KvStorage& kv, float* logits);

 private:
  struct Layer {
    std::vector<float> attn_norm, ffn_norm;  // [n_embd]
    kernels::WeightView wq, wk, wv, wo;      // q: [n_heads*hd, n_embd], k/v: [n_kv*hd, n_embd], o: [n_embd, n_heads*hd]
    std::vector<float> bq, bk, bv;           // qwen2 only
    std::vector<float> q_norm, k_norm;       // [head_dim], has_qk_norm only
    std::vector<float> post_attn_norm, post_ffn_norm;  // [n_embd], has_post_norms only
    kernels::WeightView w_gate, w_up, w_down;  // gate/up: [n_ff, n_embd], down: [n_embd, n_ff]
  };
  // Scratch floats on one device, grown (contents dropped) to the largest size asked.
  class Scratch {
   public:
    void reserve(kernels::Device device, int64_t n);
    float* data() const { return buffer_ ? buffer_->as<float>() : nullptr; }

   private:
    std::unique_ptr<kernels::DeviceBuffer> buffer_;
    kernels::Device device_ = kernels::Device::kCpu;
    int64_t size_ = 0;
  };
  // Scratch activations on the forward pass's device, grown to the largest batch seen.
  struct Workspace {
    Scratch x, xn, q, k, v, qn, kn, attn, proj, gate, up, hidden, final_rows;
    void reserve(kernels::Device device, const ModelConfig& c, int64_t T, int64_t logit_rows);
  };

  kernels::WeightView weight(const std::string& name, int64_t rows, int64_t cols) const;
  // Rows [first, first + rows) of a matrix (a fused QKV or gate/up tensor), in place.
  static kernels::WeightView row_slice(const kernels::WeightView& w, int64_t first, int64_t rows);
  void load_layer(int index, Layer& l);
  // The two blocks of a layer, on the residual stream x [T, n_embd].
  void attention_block(const kernels::Context& ctx, int li, const ForwardBatch& b, KvStorage& kv,
                       kernels::AttentionBatch& ab, float* x);
  void ffn_block(const kernels::Context& ctx, const Layer& l, int64_t T, float* x);
  std::vector<float> vector(const std::string& name, int64_t n) const;
  void validate_batch(const ForwardBatch& batch, const KvStorage& kv) const;
  void pack_for_cpu(kernels::ThreadPool& pool);
  void upload_for_cuda(kernels::ThreadPool* pool);

  GgufFile file_;
  ModelConfig config_;
  kernels::WeightView token_embd_;  // [vocab, n_embd]
  kernels::WeightView output_;      // [vocab, n_embd]; token_embd_ when tied
  std::vector<float> output_norm_;  // [n_embd]
  std::vector<float> rope_factors_;  // [rope_dim / 2] ModelConfig::rope_factors_tensor, or empty
  std::vector<Layer> layers_;
  std::vector<kernels::PackedWeight> packed_;  // owners of the views' cpu_packed
  bool cpu_packed_ = false;
  Workspace ws_;
  std::unique_ptr<kernels::DeviceWeights> device_weights_;  // made by the first CUDA prepare()
};

}  // namespace nucleus

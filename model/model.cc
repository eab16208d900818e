#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nucleus {

void ForwardBatch::clear() {
  tokens.clear();
  positions.clear();
  token_seq.clear();
  slot_mapping.clear();
  block_tables.clear();
  max_blocks_per_seq = 0;
  logit_rows.clear();
}

std::unique_ptr<Model> Model::load(const std::string& path, ModelOptions options) {
  return std::make_unique<Model>(GgufFile::open(path), options);
}

Model::Model(GgufFile file, ModelOptions options) : file_(std::move(file)), config_(ModelConfig::from_gguf(file_)) {
  if (options.context < 0) throw std::invalid_argument("ModelOptions::context must be >= 0");
  config_.select_rope_factors(options.context > 0 ? options.context : config_.context_length);
  const ModelConfig& c = config_;
  token_embd_ = weight("token_embd.weight", c.vocab_size, c.n_embd);
  output_ = c.tied_embeddings ? token_embd_ : weight("output.weight", c.vocab_size, c.n_embd);
  output_norm_ = vector("output_norm.weight", c.n_embd);
  if (!c.rope_factors_tensor.empty()) rope_factors_ = vector(c.rope_factors_tensor, c.rope_dim / 2);
  layers_.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) load_layer(i, layers_[i]);
}

void Model::load_layer(int index, Layer& l) {
  const ModelConfig& c = config_;
  const int64_t q_dim = c.n_embd_q(), kv_dim = c.n_embd_kv();
  const std::string p = "blk." + std::to_string(index) + ".";
  l.attn_norm = vector(p + "attn_norm.weight", c.n_embd);
  l.ffn_norm = vector(p + "ffn_norm.weight", c.n_embd);
  if (c.fused_qkv) {
    const kernels::WeightView qkv = weight(p + "attn_qkv.weight", q_dim + 2 * kv_dim, c.n_embd);
    l.wq = row_slice(qkv, 0, q_dim);
    l.wk = row_slice(qkv, q_dim, kv_dim);
    l.wv = row_slice(qkv, q_dim + kv_dim, kv_dim);
  } else {
    l.wq = weight(p + "attn_q.weight", q_dim, c.n_embd);
    l.wk = weight(p + "attn_k.weight", kv_dim, c.n_embd);
    l.wv = weight(p + "attn_v.weight", kv_dim, c.n_embd);
  }
  l.wo = weight(p + "attn_output.weight", c.n_embd, q_dim);
  if (c.has_qkv_bias) {
    l.bq = vector(p + "attn_q.bias", q_dim);
    l.bk = vector(p + "attn_k.bias", kv_dim);
    l.bv = vector(p + "attn_v.bias", kv_dim);
  }
  if (c.has_qk_norm) {
    l.q_norm = vector(p + "attn_q_norm.weight", c.head_dim);
    l.k_norm = vector(p + "attn_k_norm.weight", c.head_dim);
  }
  if (c.has_post_norms) {
    l.post_attn_norm = vector(p + "post_attention_norm.weight", c.n_embd);
    l.post_ffn_norm = vector(p + "post_ffw_norm.weight", c.n_embd);
  }
  if (c.fused_gate_up) {
    const kernels::WeightView gate_up = weight(p + "ffn_up.weight", 2 * int64_t{c.n_ff}, c.n_embd);
    l.w_gate = row_slice(gate_up, 0, c.n_ff);  // llama.cpp's swiglu of a fused tensor: silu(first half) * second
    l.w_up = row_slice(gate_up, c.n_ff, c.n_ff);
  } else {
    l.w_gate = weight(p + "ffn_gate.weight", c.n_ff, c.n_embd);
    l.w_up = weight(p + "ffn_up.weight", c.n_ff, c.n_embd);
  }
  l.w_down = weight(p + "ffn_down.weight", c.n_embd, c.n_ff);
}

kernels::WeightView Model::row_slice(const kernels::WeightView& w, int64_t first, int64_t rows) {
  kernels::WeightView s = w;
  s.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(first) * w.row_bytes;
  s.rows = rows;
  s.cpu_packed = nullptr;
  return s;
}

Model::~Model() = default;

kernels::WeightView Model::weight(const std::string& name, int64_t rows, int64_t cols) const {
  const GgufTensorInfo& t = file_.tensor(name);
  if (t.shape.size() != 2 || t.shape[0] != cols || t.shape[1] != rows) {
    file_.fail("tensor '" + name + "' should have shape [" + std::to_string(cols) + ", " + std::to_string(rows) + "]");
  }
  const auto traits = ggml_type_traits(static_cast<uint32_t>(t.type));
  if (!traits || !traits->supported) file_.fail("tensor '" + name + "' has an unsupported type");
  kernels::WeightView w;
  w.type = t.type;
  w.data = t.data;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = ggml_row_size(t.type, cols);
  return w;
}

std::vector<float> Model::vector(const std::string& name, int64_t n) const {
  const GgufTensorInfo& t = file_.tensor(name);
  if (t.num_elements() != n) {
    file_.fail("tensor '" + name + "' should have " + std::to_string(n) + " elements, has " +
               std::to_string(t.num_elements()));
  }
  std::vector<float> out(n);
  dequantize_row(t.type, t.data, out.data(), n);
  return out;
}

void Model::prepare(const kernels::Context& ctx) {
  // Refused before any work, rather than by the first op that lacks it mid-pass.
  if (ctx.device == kernels::Device::kCuda) {
    if (const std::string missing = config_.cuda_unsupported_feature(); !missing.empty()) {
      throw std::runtime_error(file_.path() + ": " + config_.architecture + " needs " + missing +
                               ", which is not supported on CUDA yet (use --device cpu)");
    }
    if (!device_weights_) upload_for_cuda(ctx.pool);
  }
  if (ctx.device == kernels::Device::kCpu && !cpu_packed_ && ctx.pool != nullptr) pack_for_cpu(*ctx.pool);
}

void Model::upload_for_cuda(kernels::ThreadPool* pool) {
  auto weights = std::make_unique<kernels::DeviceWeights>(kernels::make_device_memory(kernels::Device::kCuda));
  weights->add_matrix(output_, pool);
  weights->add_floats(output_norm_.data(), config_.n_embd);
  for (const Layer& l : layers_) {
    for (const kernels::WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      weights->add_matrix(*w, pool);
    }
    for (const std::vector<float>* v : {&l.attn_norm, &l.ffn_norm, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm,
                                        &l.post_attn_norm, &l.post_ffn_norm}) {
      if (!v->empty()) weights->add_floats(v->data(), static_cast<int64_t>(v->size()));
    }
  }
  device_weights_ = std::move(weights);  // only once complete: a failed upload is retried by the next prepare()
}

void Model::pack_for_cpu(kernels::ThreadPool& pool) {
  std::vector<kernels::WeightView*> matrices = {&output_};
  for (Layer& l : layers_) {
    for (kernels::WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) matrices.push_back(w);
  }
  for (kernels::WeightView* w : matrices) {
    kernels::PackedWeight packed = kernels::pack_weight_cpu(pool, *w);
    if (packed.empty()) continue;
    w->cpu_packed = packed.data();
    packed_.push_back(std::move(packed));
  }
  cpu_packed_ = true;
}

int64_t Model::weight_bytes() const {
  int64_t total = static_cast<int64_t>(output_.rows * output_.row_bytes);
  for (const Layer& l : layers_) {
    for (const kernels::WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      total += static_cast<int64_t>(w->rows * w->row_bytes);
    }
  }
  return total;
}

void Model::Scratch::reserve(kernels::Device device, int64_t n) {
  if (buffer_ && device_ == device && size_ >= n) return;
  buffer_.reset();  // free first: the old and new buffer need not fit together
  buffer_ = std::make_unique<kernels::DeviceBuffer>(device, static_cast<size_t>(n) * sizeof(float));
  device_ = device;
  size_ = n;
}

void Model::Workspace::reserve(kernels::Device device, const ModelConfig& c, int64_t T, int64_t logit_rows) {
  auto grow = [device](Scratch& s, int64_t n) { s.reserve(device, n); };
  const int64_t q_dim = int64_t{c.n_heads} * c.head_dim;
  const int64_t kv_dim = int64_t{c.n_kv_heads} * c.head_dim;
  grow(x, T * c.n_embd);
  grow(xn, T * c.n_embd);
  grow(q, T * q_dim);
  grow(k, T * kv_dim);
  grow(v, T * kv_dim);
  if (c.has_qk_norm) {
    grow(qn, T * q_dim);
    grow(kn, T * kv_dim);
  }
  grow(attn, T * q_dim);
  grow(proj, T * c.n_embd);
  grow(gate, T * c.n_ff);
  grow(up, T * c.n_ff);
  grow(hidden, T * c.n_ff);
  grow(final_rows, 2 * logit_rows * c.n_embd);
}

void Model::validate_batch(const ForwardBatch& b, const KvStorage& kv) const {
  const size_t T = b.tokens.size();
  if (b.positions.size() != T || b.token_seq.size() != T || b.slot_mapping.size() != T) {
    throw std::invalid_argument("ForwardBatch: tokens, positions, token_seq and slot_mapping must have equal sizes");
  }
  if (b.max_blocks_per_seq <= 0 || b.block_tables.size() % b.max_blocks_per_seq != 0) {
    throw std::invalid_argument("ForwardBatch: block_tables must be whole rows of max_blocks_per_seq");
  }
  const int64_t num_seqs = static_cast<int64_t>(b.block_tables.size()) / b.max_blocks_per_seq;
  for (size_t i = 0; i < T; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= config_.vocab_size) {
      throw std::out_of_range("ForwardBatch: token id " + std::to_string(b.tokens[i]) + " outside the vocabulary");
    }
    if (b.positions[i] < 0 || b.positions[i] >= int64_t{b.max_blocks_per_seq} * kv.block_size()) {
      throw std::out_of_range("ForwardBatch: position " + std::to_string(b.positions[i]) + " outside the block table");
    }
    if (b.token_seq[i] < 0 || b.token_seq[i] >= num_seqs) throw std::out_of_range("ForwardBatch: bad token_seq");
    if (b.slot_mapping[i] >= kv.num_slots()) throw std::out_of_range("ForwardBatch: slot outside the KV cache");
  }
  for (int32_t block : b.block_tables) {
    if (block >= kv.num_blocks()) throw std::out_of_range("ForwardBatch: block id outside the KV cache");
  }
  for (int32_t row : b.logit_rows) {
    if (row < 0 || static_cast<size_t>(row) >= T) throw std::out_of_range("ForwardBatch: logit row out of range");
  }
}

void Model::forward(const kernels::Context& device_ctx, const ForwardBatch& b, KvStorage& kv, float* logits) {
  validate_batch(b, kv);
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens();
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  if (T == 0) return;
  prepare(device_ctx);
  kernels::Context ctx = device_ctx;
  ctx.weights = device_weights_.get();  // the ops find this model's device copies here
  ws_.reserve(ctx.device, c, T, R);
  const int64_t D = c.n_embd;

  kernels::AttentionBatch ab;
  ab.num_tokens = T;
  ab.token_seq = b.token_seq.data();
  ab.token_pos = b.positions.data();
  ab.block_tables = b.block_tables.data();
  ab.max_blocks_per_seq = b.max_blocks_per_seq;
  ab.block_size = kv.block_size();
  ab.softcap = c.attn_softcap;

  float* x = ws_.x.data();  // [T, D] the residual stream
  kernels::embedding(ctx, token_embd_, b.tokens.data(), T, x);
  if (c.embd_scale != 1.0f) kernels::scale_inplace(ctx, x, c.embd_scale, T * D);

  for (int li = 0; li < c.n_layers; ++li) {
    attention_block(ctx, li, b, kv, ab, x);
    ffn_block(ctx, layers_[li], T, x);
  }

  // Only the requested rows go through the final norm and the vocabulary projection.
  if (R == 0) return;
  float* rows = ws_.final_rows.data();  // [R, D]
  float* normed = rows + R * D;         // [R, D]
  // The gather is an embedding lookup in the residual stream seen as an F32
  // table: a plain row copy on every device, wherever x lives.
  kernels::WeightView stream;
  stream.type = GgmlType::F32;
  stream.data = x;
  stream.rows = T;
  stream.cols = D;
  stream.row_bytes = ggml_row_size(GgmlType::F32, D);
  kernels::embedding(ctx, stream, b.logit_rows.data(), R, rows);
  kernels::rms_norm(ctx, rows, output_norm_.data(), R, D, c.rms_eps, normed);
  kernels::matmul(ctx, output_, normed, R, logits);
  if (c.final_softcap > 0.0f) kernels::softcap_inplace(ctx, logits, c.final_softcap, R * c.vocab_size);
}

void Model::attention_block(const kernels::Context& ctx, int li, const ForwardBatch& b, KvStorage& kv,
                            kernels::AttentionBatch& ab, float* x) {
  const ModelConfig& c = config_;
  const Layer& l = layers_[li];
  const int64_t T = b.num_tokens(), D = c.n_embd;
  const kernels::KvLayerView cache = kv.layer(li);
  kernels::rms_norm(ctx, x, l.attn_norm.data(), T, D, c.rms_eps, ws_.xn.data());
  const kernels::MatmulOutput qkv[3] = {{l.wq, ws_.q.data(), l.bq.empty() ? nullptr : l.bq.data()},
                                        {l.wk, ws_.k.data(), l.bk.empty() ? nullptr : l.bk.data()},
                                        {l.wv, ws_.v.data(), l.bv.empty() ? nullptr : l.bv.data()}};
  kernels::matmul_shared_input(ctx, ws_.xn.data(), T, qkv, 3);
  float* q = ws_.q.data();  // [T, n_heads, head_dim]
  float* k = ws_.k.data();  // [T, n_kv_heads, head_dim]
  if (c.has_qk_norm) {
    // Each head's row of head_dim floats is normalized alone: [T * heads, head_dim].
    kernels::rms_norm(ctx, q, l.q_norm.data(), T * c.n_heads, c.head_dim, c.rms_eps, ws_.qn.data());
    kernels::rms_norm(ctx, k, l.k_norm.data(), T * c.n_kv_heads, c.head_dim, c.rms_eps, ws_.kn.data());
    q = ws_.qn.data();
    k = ws_.kn.data();
  }
  kernels::RopeParams rope = c.rope_params(li);
  rope.freq_factors = rope_factors_.empty() ? nullptr : rope_factors_.data();
  kernels::rope(ctx, q, b.positions.data(), T, c.n_heads, rope);
  kernels::rope(ctx, k, b.positions.data(), T, c.n_kv_heads, rope);
  kernels::write_kv(ctx, cache, k, ws_.v.data(), b.slot_mapping.data(), T);
  ab.sliding_window = c.is_swa(li) ? c.sliding_window : 0;
  kernels::attention(ctx, q, cache, ab, c.n_heads, c.attn_scale, ws_.attn.data());
  kernels::matmul(ctx, l.wo, ws_.attn.data(), T, ws_.proj.data());
  float* out = ws_.proj.data();
  if (c.has_post_norms) {
    kernels::rms_norm(ctx, out, l.post_attn_norm.data(), T, D, c.rms_eps, ws_.xn.data());
    out = ws_.xn.data();
  }
  kernels::add_inplace(ctx, x, out, T * D);
}

void Model::ffn_block(const kernels::Context& ctx, const Layer& l, int64_t T, float* x) {
  const ModelConfig& c = config_;
  const int64_t D = c.n_embd;
  kernels::rms_norm(ctx, x, l.ffn_norm.data(), T, D, c.rms_eps, ws_.xn.data());
  const kernels::MatmulOutput gate_up[2] = {{l.w_gate, ws_.gate.data(), nullptr}, {l.w_up, ws_.up.data(), nullptr}};
  kernels::matmul_shared_input(ctx, ws_.xn.data(), T, gate_up, 2);
  if (c.ffn_activation == FfnActivation::kGeluTanh) {
    kernels::geglu(ctx, ws_.gate.data(), ws_.up.data(), T, c.n_ff, ws_.hidden.data());
  } else {
    kernels::swiglu(ctx, ws_.gate.data(), ws_.up.data(), T, c.n_ff, ws_.hidden.data());
  }
  kernels::matmul(ctx, l.w_down, ws_.hidden.data(), T, ws_.proj.data());
  float* out = ws_.proj.data();
  if (c.has_post_norms) {
    kernels::rms_norm(ctx, out, l.post_ffn_norm.data(), T, D, c.rms_eps, ws_.xn.data());
    out = ws_.xn.data();
  }
  kernels::add_inplace(ctx, x, out, T * D);
}

}  // namespace nucleus

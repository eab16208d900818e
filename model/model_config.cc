// ModelConfig::from_gguf: hyperparameters from `<arch>.*` metadata, then a
// check of every tensor the forward pass will touch (see model_config.h).
#include "model/model_config.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace nucleus {
namespace {

// Bounds that keep every product of two hyperparameters inside int and catch
// garbage values early with a clear message.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 4096;
constexpr int64_t kMaxWidth = int64_t{1} << 22;  // n_embd, n_ff
constexpr int64_t kMaxVocab = int64_t{1} << 24;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class ConfigReader {
 public:
  ConfigReader(const GgufFile& file, std::string arch) : f_(file), arch_(std::move(arch)) {}

  std::string key(const char* suffix) const { return arch_ + "." + suffix; }

  // A required positive integer <= max.
  int positive(const char* suffix, int64_t max) const {
    const std::string k = key(suffix);
    if (const GgufValue* v = f_.find(k); v && v->is_array()) {
      f_.fail("metadata key '" + k + "' is a per-layer array; only one value for all layers is supported");
    }
    return check_range(k, f_.get_i64(k), max);
  }
  int positive_or(const char* suffix, int64_t max, int fallback) const {
    return f_.has(key(suffix)) ? positive(suffix, max) : fallback;
  }

  int check_range(const std::string& what, int64_t value, int64_t max) const {
    if (value <= 0 || value > max) {
      f_.fail(what + " = " + std::to_string(value) + " is out of range (must be in [1, " + std::to_string(max) + "])");
    }
    return static_cast<int>(value);
  }

  float positive_float(const std::string& k, float value) const {
    if (!(std::isfinite(value) && value > 0.0f))
      f_.fail("metadata key '" + k + "' = " + std::to_string(value) + " must be a positive finite number");
    return value;
  }

 private:
  const GgufFile& f_;
  std::string arch_;
};

// Requires tensor `name` with exactly `shape`; F32 when `f32_only`.
void expect_tensor(const GgufFile& f, const std::string& name, const std::vector<int64_t>& shape, bool f32_only) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (!t) f.fail("missing tensor '" + name + "' (expected shape " + shape_string(shape) + ")");
  if (t->shape != shape) {
    f.fail("tensor '" + name + "' has shape " + shape_string(t->shape) + ", expected " + shape_string(shape));
  }
  if (f32_only && t->type != GgmlType::F32) {
    f.fail("tensor '" + name + "' has type " + std::string(ggml_type_name(t->type)) + ", expected F32");
  }
}

void read_rope_scaling(const GgufFile& f, const ConfigReader& r, ModelConfig& c) {
  const std::string type_key = r.key("rope.scaling.type");
  const std::string factor_key = r.key("rope.scaling.factor");
  const std::string old_linear_key = r.key("rope.scale_linear");  // older converters
  float factor = 1.0f;
  if (f.has(type_key)) {
    const std::string type = f.get_string(type_key);
    if (type == "linear") {
      factor = r.positive_float(factor_key, f.get_f32(factor_key));
    } else if (type != "none") {
      f.fail("rope scaling type '" + type + "' (" + type_key + ") is not supported (supported: none, linear)");
    }
  } else if (f.has(old_linear_key)) {
    factor = r.positive_float(old_linear_key, f.get_f32(old_linear_key));
  }
  c.rope_freq_scale = 1.0f / factor;
}

void validate_tensors(const GgufFile& f, const ModelConfig& c) {
  const int64_t e = c.n_embd, q = c.n_embd_q(), kv = c.n_embd_kv(), ff = c.n_ff, v = c.vocab_size;
  expect_tensor(f, "token_embd.weight", {e, v}, false);
  expect_tensor(f, "output_norm.weight", {e}, true);
  if (!c.tied_embeddings) expect_tensor(f, "output.weight", {e, v}, false);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    expect_tensor(f, p + "attn_norm.weight", {e}, true);
    expect_tensor(f, p + "attn_q.weight", {e, q}, false);
    expect_tensor(f, p + "attn_k.weight", {e, kv}, false);
    expect_tensor(f, p + "attn_v.weight", {e, kv}, false);
    expect_tensor(f, p + "attn_output.weight", {q, e}, false);
    expect_tensor(f, p + "ffn_norm.weight", {e}, true);
    expect_tensor(f, p + "ffn_gate.weight", {e, ff}, false);
    expect_tensor(f, p + "ffn_up.weight", {e, ff}, false);
    expect_tensor(f, p + "ffn_down.weight", {ff, e}, false);
    if (c.has_qkv_bias) {
      expect_tensor(f, p + "attn_q.bias", {q}, true);
      expect_tensor(f, p + "attn_k.bias", {kv}, true);
      expect_tensor(f, p + "attn_v.bias", {kv}, true);
    }
  }
}

}  // namespace

kernels::RopeParams ModelConfig::rope_params() const {
  kernels::RopeParams p;
  p.style = rope_style;
  p.head_dim = head_dim;
  p.rot_dim = rope_dim;
  p.freq_base = rope_freq_base;
  p.freq_scale = rope_freq_scale;
  return p;
}

ModelConfig ModelConfig::from_gguf(const GgufFile& f) {
  ModelConfig c;
  c.architecture = f.get_string("general.architecture");
  if (c.architecture == "llama") {
    c.rope_style = kernels::RopeStyle::kNormal;
  } else if (c.architecture == "qwen2") {
    c.rope_style = kernels::RopeStyle::kNeox;
  } else {
    f.fail("unsupported architecture '" + c.architecture + "' (supported: llama, qwen2)");
  }
  const ConfigReader r(f, c.architecture);

  c.n_layers = r.positive("block_count", kMaxLayers);
  c.n_embd = r.positive("embedding_length", kMaxWidth);
  c.n_ff = r.positive("feed_forward_length", kMaxWidth);
  c.n_heads = r.positive("attention.head_count", kMaxHeads);
  c.n_kv_heads = r.positive_or("attention.head_count_kv", kMaxHeads, c.n_heads);
  c.context_length = r.positive("context_length", INT32_MAX);
  if (c.n_heads % c.n_kv_heads != 0) {
    f.fail("head_count " + std::to_string(c.n_heads) + " is not a multiple of head_count_kv " +
           std::to_string(c.n_kv_heads) + " (" + r.key("attention.head_count_kv") + ")");
  }

  if (f.has(r.key("attention.key_length"))) {
    c.head_dim = r.positive("attention.key_length", kMaxHeadDim);
  } else {
    if (c.n_embd % c.n_heads != 0) {
      f.fail("embedding_length " + std::to_string(c.n_embd) + " is not a multiple of head_count " +
             std::to_string(c.n_heads) + " (" + r.key("embedding_length") + ")");
    }
    c.head_dim = r.check_range("head_dim (embedding_length / head_count)", c.n_embd / c.n_heads, kMaxHeadDim);
  }
  if (f.has(r.key("attention.value_length")) && r.positive("attention.value_length", kMaxHeadDim) != c.head_dim) {
    f.fail(r.key("attention.value_length") + " differs from the key length " + std::to_string(c.head_dim) +
           "; different K and V head sizes are not supported");
  }
  c.rope_dim = r.positive_or("rope.dimension_count", kMaxHeadDim, c.head_dim);
  if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
    f.fail(r.key("rope.dimension_count") + " = " + std::to_string(c.rope_dim) + " must be even and at most head_dim " +
           std::to_string(c.head_dim));
  }

  const std::string eps_key = r.key("attention.layer_norm_rms_epsilon");
  c.rms_eps = r.positive_float(eps_key, f.get_f32(eps_key));
  const std::string base_key = r.key("rope.freq_base");
  c.rope_freq_base = r.positive_float(base_key, f.get_f32(base_key, 10000.0f));
  read_rope_scaling(f, r, c);

  if (f.has("tokenizer.ggml.tokens")) {
    c.vocab_size = r.check_range("vocabulary size (tokenizer.ggml.tokens)",
                                 static_cast<int64_t>(f.get_array_size("tokenizer.ggml.tokens")), kMaxVocab);
  } else if (f.has(r.key("vocab_size"))) {
    c.vocab_size = r.positive("vocab_size", kMaxVocab);
  } else {
    f.fail("no vocabulary size: neither tokenizer.ggml.tokens nor " + r.key("vocab_size") + " is present");
  }

  // qwen2 always has Q/K/V biases; a llama file may carry them too.
  c.has_qkv_bias = c.architecture == "qwen2" || f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  validate_tensors(f, c);
  return c;
}

}  // namespace nucleus

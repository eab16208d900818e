// ModelConfig::from_gguf: hyperparameters from `<arch>.*` metadata, then a
// check of every tensor the forward pass will touch (see model_config.h).
#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

// The tensors an architecture uses: each checked for shape (and F32 where it
// is read as floats) and remembered, so that any other tensor in the file is
// refused (a tensor we do not use is one whose meaning we would be dropping).
class TensorChecker {
 public:
  explicit TensorChecker(const GgufFile& f) : f_(f) {}

  // Requires tensor `name` with exactly `shape`; F32 when `f32_only`.
  void expect(const std::string& name, const std::vector<int64_t>& shape, bool f32_only) {
    const GgufTensorInfo* t = f_.find_tensor(name);
    if (!t) f_.fail("missing tensor '" + name + "' (expected shape " + shape_string(shape) + ")");
    if (t->shape != shape) {
      f_.fail("tensor '" + name + "' has shape " + shape_string(t->shape) + ", expected " + shape_string(shape));
    }
    if (f32_only && t->type != GgmlType::F32) {
      f_.fail("tensor '" + name + "' has type " + std::string(ggml_type_name(t->type)) + ", expected F32");
    }
    used_.push_back(name);
  }
  // A tensor the architecture knows but does not run (phi3's long RoPE factors).
  void allow(const std::string& name) { used_.push_back(name); }

  void refuse_unused(const std::string& arch) const {
    for (const GgufTensorInfo& t : f_.tensors()) {
      if (std::find(used_.begin(), used_.end(), t.name) == used_.end()) {
        f_.fail("unknown tensor '" + t.name + "': architecture " + arch +
                " does not use it, and running without it could give wrong results");
      }
    }
  }

 private:
  const GgufFile& f_;
  std::vector<std::string> used_;
};

// The architectures from_gguf accepts, for its messages.
constexpr const char* kSupported = "llama, qwen2, qwen3, gemma2, gemma3, phi3";

void read_rope_scaling(const GgufFile& f, const ConfigReader& r, ModelConfig& c) {
  const std::string type_key = r.key("rope.scaling.type");
  const std::string factor_key = r.key("rope.scaling.factor");
  const std::string old_linear_key = r.key("rope.scale_linear");  // older converters
  float factor = 1.0f;
  if (f.has(type_key)) {
    const std::string type = f.get_string(type_key);
    if (type == "linear" || type == "yarn") {
      factor = r.positive_float(factor_key, f.get_f32(factor_key));
      c.rope_yarn = type == "yarn";
    } else if (type != "none") {
      f.fail("rope scaling type '" + type + "' (" + type_key + ") is not supported (supported: none, linear, yarn)");
    }
    // YaRN variants with their own magnitude terms (DeepSeek) would be silently wrong.
    if (const std::string k = r.key("rope.scaling.yarn_log_multiplier"); f.has(k)) {
      f.fail("metadata key '" + k + "' (YaRN with a log multiplier) is not supported");
    }
  } else if (f.has(old_linear_key)) {
    factor = r.positive_float(old_linear_key, f.get_f32(old_linear_key));
  }
  c.rope_freq_scale = 1.0f / factor;
  char described[64];
  std::snprintf(described, sizeof described, "%s x%g", c.rope_yarn ? "yarn" : "linear", static_cast<double>(factor));
  c.rope_scaling = factor == 1.0f && !c.rope_yarn ? "none" : described;
  const std::string orig_key = r.key("rope.scaling.original_context_length");
  if (f.has(orig_key)) {
    c.rope_original_context = r.positive("rope.scaling.original_context_length", INT32_MAX);
  } else if (c.rope_yarn) {
    c.rope_original_context = c.context_length;  // llama.cpp's n_ctx_orig_yarn default
  }
  const std::string attn_key = r.key("rope.scaling.attn_factor");
  if (f.has(attn_key)) c.rope_attn_factor = r.positive_float(attn_key, f.get_f32(attn_key));
}

// Which layers use the sliding window: `<arch>.attention.sliding_window_pattern`
// as a per-layer bool array, or as n (layer il is local unless il % n == n - 1),
// else `default_pattern` in that form (llama.cpp's load_swa_pattern).
void read_swa_layers(const GgufFile& f, const ConfigReader& r, ModelConfig& c, int default_pattern) {
  const std::string key = r.key("attention.sliding_window_pattern");
  c.swa_layers.assign(static_cast<size_t>(c.n_layers), 0);
  if (const GgufValue* v = f.find(key); v && v->is_array()) {
    const std::vector<int32_t> flags = f.get_i32_array(key);
    if (flags.size() != static_cast<size_t>(c.n_layers)) {
      f.fail(key + " has " + std::to_string(flags.size()) + " entries for " + std::to_string(c.n_layers) + " layers");
    }
    for (int i = 0; i < c.n_layers; ++i) c.swa_layers[i] = flags[i] != 0;
    return;
  }
  const int n = f.has(key) ? r.positive("attention.sliding_window_pattern", 4096) : default_pattern;
  for (int i = 0; i < c.n_layers; ++i) c.swa_layers[i] = i % n < n - 1;
}

float optional_float(const GgufFile& f, const ConfigReader& r, const char* suffix, float fallback) {
  const std::string k = r.key(suffix);
  return f.has(k) ? r.positive_float(k, f.get_f32(k)) : fallback;
}

// The features of each architecture beyond the llama baseline (model_config.h).
void read_architecture_features(const GgufFile& f, const ConfigReader& r, ModelConfig& c) {
  const std::string& a = c.architecture;
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::string window_key = r.key("attention.sliding_window");
  const int window = f.has(window_key) ? static_cast<int>(std::clamp<int64_t>(f.get_i64(window_key), 0, INT32_MAX)) : 0;
  if (a == "llama") {
    if (f.find_tensor("rope_freqs.weight") != nullptr) {
      c.rope_factors_tensor = "rope_freqs.weight";
      c.rope_scaling = "llama3 (rope_freqs)";
    }
    c.sliding_window_ignored = window;  // Mistral: llama.cpp runs llama files without it
  } else if (a == "qwen3") {
    c.has_qk_norm = true;
  } else if (a == "gemma2" || a == "gemma3") {
    const bool gemma2 = a == "gemma2";
    c.has_qk_norm = !gemma2;
    c.has_post_norms = true;
    c.ffn_activation = FfnActivation::kGeluTanh;
    c.embd_scale = std::sqrt(static_cast<float>(c.n_embd));
    c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
    // Gemma 27B (46 layers for gemma2, 62 for gemma3) scales by the model width per head (gemma_pytorch).
    if (c.n_layers == (gemma2 ? 46 : 62)) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_heads));
    c.sliding_window = gemma2 ? (f.has(window_key) ? window : 4096) : window;
    if (c.sliding_window > 0) read_swa_layers(f, r, c, gemma2 ? 2 : 6);
    c.rope_freq_base_swa = optional_float(f, r, "rope.freq_base_swa", gemma2 ? c.rope_freq_base : 10000.0f);
    c.rope_freq_scale_swa = gemma2 ? c.rope_freq_scale : 1.0f;
    c.attn_softcap = gemma2 ? optional_float(f, r, "attn_logit_softcapping", 0.0f) : 0.0f;
    c.final_softcap = optional_float(f, r, "final_logit_softcapping", 0.0f);
  } else if (a == "phi3") {
    c.fused_qkv = f.find_tensor("blk.0.attn_qkv.weight") != nullptr;
    c.fused_gate_up = true;
    if (f.find_tensor("rope_factors_short.weight") != nullptr) {
      c.rope_factors_tensor = "rope_factors_short.weight";
      c.rope_scaling = "longrope (short factors)";
    }
    c.sliding_window_ignored = window;  // llama.cpp disables phi3's window (its PR 13676)
  }
}

void validate_tensors(const GgufFile& f, const ModelConfig& c) {
  const int64_t e = c.n_embd, q = c.n_embd_q(), kv = c.n_embd_kv(), ff = c.n_ff, v = c.vocab_size;
  TensorChecker t(f);
  t.expect("token_embd.weight", {e, v}, false);
  t.expect("output_norm.weight", {e}, true);
  if (!c.tied_embeddings) t.expect("output.weight", {e, v}, false);
  if (!c.rope_factors_tensor.empty()) t.expect(c.rope_factors_tensor, {c.rope_dim / 2}, true);
  if (c.rope_factors_tensor == "rope_factors_short.weight") t.expect("rope_factors_long.weight", {c.rope_dim / 2}, true);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    t.expect(p + "attn_norm.weight", {e}, true);
    if (c.fused_qkv) {
      t.expect(p + "attn_qkv.weight", {e, q + 2 * kv}, false);
    } else {
      t.expect(p + "attn_q.weight", {e, q}, false);
      t.expect(p + "attn_k.weight", {e, kv}, false);
      t.expect(p + "attn_v.weight", {e, kv}, false);
    }
    t.expect(p + "attn_output.weight", {q, e}, false);
    t.expect(p + "ffn_norm.weight", {e}, true);
    if (c.fused_gate_up) {
      t.expect(p + "ffn_up.weight", {e, 2 * ff}, false);
    } else {
      t.expect(p + "ffn_gate.weight", {e, ff}, false);
      t.expect(p + "ffn_up.weight", {e, ff}, false);
    }
    t.expect(p + "ffn_down.weight", {ff, e}, false);
    if (c.has_qkv_bias) {
      t.expect(p + "attn_q.bias", {q}, true);
      t.expect(p + "attn_k.bias", {kv}, true);
      t.expect(p + "attn_v.bias", {kv}, true);
    }
    if (c.has_qk_norm) {
      t.expect(p + "attn_q_norm.weight", {c.head_dim}, true);
      t.expect(p + "attn_k_norm.weight", {c.head_dim}, true);
    }
    if (c.has_post_norms) {
      t.expect(p + "post_attention_norm.weight", {e}, true);
      t.expect(p + "post_ffw_norm.weight", {e}, true);
    }
  }
  t.refuse_unused(c.architecture);
}

}  // namespace

kernels::RopeParams ModelConfig::rope_params(int layer) const {
  kernels::RopeParams p;
  p.style = rope_style;
  p.head_dim = head_dim;
  p.rot_dim = rope_dim;
  const bool swa = is_swa(layer);
  p.freq_base = swa ? rope_freq_base_swa : rope_freq_base;
  p.freq_scale = swa ? rope_freq_scale_swa : rope_freq_scale;
  p.attn_factor = rope_attn_factor;
  if (rope_yarn) {
    p.yarn_ext_factor = 1.0f;  // llama.cpp's default for a YaRN file (every layer); beta_fast 32, beta_slow 1
    p.yarn_original_context = rope_original_context;
  }
  return p;
}

std::string ModelConfig::cuda_unsupported_feature() const {
  if (ffn_activation == FfnActivation::kGeluTanh) return "GeGLU feed-forward";
  if (embd_scale != 1.0f) return "embedding scale";
  if (attn_softcap > 0.0f || final_softcap > 0.0f) return "logit soft-capping";
  if (sliding_window > 0) return "sliding-window attention";
  if (!rope_factors_tensor.empty()) return "RoPE frequency factors (" + rope_factors_tensor + ")";
  if (rope_attn_factor != 1.0f) return "RoPE attention factor";
  if (rope_yarn) return "YaRN RoPE scaling";
  return "";
}

void ModelConfig::select_rope_factors(int context) {
  if (rope_factors_tensor != "rope_factors_short.weight" && rope_factors_tensor != "rope_factors_long.weight") return;
  const bool long_factors = context > rope_original_context;
  rope_factors_tensor = long_factors ? "rope_factors_long.weight" : "rope_factors_short.weight";
  rope_scaling = std::string("longrope (") + (long_factors ? "long" : "short") + " factors: context " +
                 std::to_string(context) + (long_factors ? " > " : " <= ") + "original " +
                 std::to_string(rope_original_context) + ")";
}

ModelConfig ModelConfig::from_gguf(const GgufFile& f) {
  ModelConfig c;
  c.architecture = f.get_string("general.architecture");
  if (c.architecture == "llama") {
    c.rope_style = kernels::RopeStyle::kNormal;
  } else if (c.architecture == "qwen2" || c.architecture == "qwen3" || c.architecture == "gemma2" ||
             c.architecture == "gemma3" || c.architecture == "phi3") {
    c.rope_style = kernels::RopeStyle::kNeox;
  } else {
    f.fail("unsupported architecture '" + c.architecture + "' (supported: " + kSupported + ")");
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
  read_architecture_features(f, r, c);
  validate_tensors(f, c);
  return c;
}

}  // namespace nucleus

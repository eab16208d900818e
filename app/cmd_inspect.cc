// `nucleus inspect`: what a GGUF file holds: format, architecture and
// hyperparameters (as ModelConfig reads them), tokenizer, the tensor table,
// parameter count and file size. Errors leave through main as
// "nucleus: error: <file>: <problem>" with a non-zero exit code.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/command.h"
#include "model/gguf.h"
#include "model/model_config.h"
#include "config/options.h"

namespace nucleus::app {
namespace {


std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// 134515008 -> "134,515,008".
std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The id stored under `key` and, when the vocabulary has it, its text.
std::string token_description(const GgufFile& f, const char* key) {
  const GgufValue* v = f.find(key);
  if (!v) return "(none)";
  int64_t id = 0;
  if (!v->to_i64(&id)) return v->to_display_string();
  std::string out = std::to_string(id);
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  if (tokens && tokens->is_array() && id >= 0 && static_cast<uint64_t>(id) < tokens->items.size()) {
    out += " " + tokens->items[static_cast<size_t>(id)].to_display_string();
  }
  return out;
}

void print_config(const ModelConfig& c) {
  std::printf("hyperparameters:\n");
  std::printf("  layers %d, embedding %d, feed-forward %d\n", c.n_layers, c.n_embd, c.n_ff);
  std::printf("  heads %d, kv heads %d, head dim %d\n", c.n_heads, c.n_kv_heads, c.head_dim);
  std::printf("  context length %d, vocab size %d\n", c.context_length, c.vocab_size);
  std::printf("  rms eps %g\n", static_cast<double>(c.rms_eps));
  std::printf("  rope: %s, %d dims, freq base %g, freq scale %g\n",
              c.rope_style == kernels::RopeStyle::kNeox ? "neox" : "normal", c.rope_dim,
              static_cast<double>(c.rope_freq_base), static_cast<double>(c.rope_freq_scale));
  std::printf("  rope scaling: %s", c.rope_scaling.c_str());
  if (c.rope_original_context > 0) std::printf(", original context %d", c.rope_original_context);
  if (c.rope_attn_factor != 1.0f) std::printf(", attention factor %g", static_cast<double>(c.rope_attn_factor));
  std::printf("\n");
  std::printf("  qkv bias %s, tied embeddings %s\n", c.has_qkv_bias ? "yes" : "no", c.tied_embeddings ? "yes" : "no");
  std::printf("  attention scale %g\n", static_cast<double>(c.attn_scale));
  if (c.sliding_window > 0) {
    std::string layers;
    for (int i = 0; i < c.n_layers; ++i) layers += c.is_swa(i) ? 'L' : 'G';
    std::printf("  sliding window: %d tokens on the layers marked L in %s (G: global); their rope: freq base %g, "
                "freq scale %g (masked only: the KV cache keeps every key)\n",
                c.sliding_window, layers.c_str(), static_cast<double>(c.rope_freq_base_swa),
                static_cast<double>(c.rope_freq_scale_swa));
  } else if (c.sliding_window_ignored > 0) {
    std::printf("  sliding window: none (the file states %d; llama.cpp does not apply it to %s, nor do we)\n",
                c.sliding_window_ignored, c.architecture.c_str());
  } else {
    std::printf("  sliding window: none\n");
  }
  if (c.attn_softcap > 0.0f || c.final_softcap > 0.0f) {
    std::printf("  soft-capping: attention %g, final logits %g (0: none)\n", static_cast<double>(c.attn_softcap),
                static_cast<double>(c.final_softcap));
  } else {
    std::printf("  soft-capping: none\n");
  }
  const bool geglu = c.ffn_activation == FfnActivation::kGeluTanh;
  std::printf("  feed-forward: %s%s; q/k norm %s, post norms %s, embedding scale %g\n", geglu ? "GeGLU (tanh)" : "SwiGLU",
              c.fused_gate_up ? " (fused gate/up)" : "", c.has_qk_norm ? "yes" : "no", c.has_post_norms ? "yes" : "no",
              static_cast<double>(c.embd_scale));
}

void print_tokenizer(const GgufFile& f) {
  std::printf("tokenizer:\n");
  std::printf("  model %s, pre %s\n", f.get_string("tokenizer.ggml.model", "(none)").c_str(),
              f.get_string("tokenizer.ggml.pre", "(none)").c_str());
  const size_t vocab = f.has("tokenizer.ggml.tokens") ? f.get_array_size("tokenizer.ggml.tokens") : 0;
  const size_t merges = f.has("tokenizer.ggml.merges") ? f.get_array_size("tokenizer.ggml.merges") : 0;
  std::printf("  vocab size %zu, merges %zu\n", vocab, merges);
  std::printf("  bos %s\n", token_description(f, "tokenizer.ggml.bos_token_id").c_str());
  std::printf("  eos %s\n", token_description(f, "tokenizer.ggml.eos_token_id").c_str());
  if (const GgufValue* t = f.find("tokenizer.chat_template"); t && t->is_string()) {
    std::printf("  chat template: yes (%zu bytes)\n", t->str.size());
  } else {
    std::printf("  chat template: no\n");
  }
}

int run_inspect(const std::string& path, bool show_metadata) {
  const GgufFile f = GgufFile::open(path);
  std::printf("file: %s\n", f.path().c_str());
  std::printf("format: GGUF v%u, alignment %zu, %zu metadata keys, %zu tensors\n", f.version(), f.alignment(),
              f.metadata().size(), f.tensors().size());
  std::printf("architecture: %s\n", f.get_string("general.architecture", "(none)").c_str());
  if (f.has("general.name")) std::printf("name: %s\n", f.get_string("general.name").c_str());
  if (show_metadata) {
    std::printf("metadata:\n");
    for (const auto& [key, value] : f.metadata()) {
      std::printf("  %-44s %-8s %s\n", key.c_str(), std::string(gguf_value_type_name(value.type)).c_str(),
                  value.to_display_string().c_str());
    }
  }
  // ModelConfig validates too, so an unsupported model is reported after the
  // table (which is still useful to look at) and the exit code is non-zero.
  std::string config_error;
  try {
    ModelConfig config = ModelConfig::from_gguf(f);
    // What serving runs: Model loads for the whole context (ModelOptions::context 0), which
    // picks phi3's long LongRoPE factors when it exceeds the original context.
    config.select_rope_factors(config.context_length);
    print_config(config);
  } catch (const GgufError& e) {
    config_error = e.what();
  }
  print_tokenizer(f);

  std::printf("tensors:\n  %-36s %-6s %-16s %12s\n", "name", "type", "shape", "bytes");
  uint64_t params = 0, data_bytes = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    std::printf("  %-36s %-6s %-16s %12zu\n", t.name.c_str(), std::string(ggml_type_name(t.type)).c_str(),
                shape_string(t.shape).c_str(), t.nbytes);
    params += static_cast<uint64_t>(t.num_elements());
    data_bytes += t.nbytes;
  }
  std::printf("parameters: %s (%.1fM)\n", grouped(params).c_str(), static_cast<double>(params) / 1e6);
  std::printf("tensor data: %s bytes\n", grouped(data_bytes).c_str());
  std::printf("file size: %s bytes (%.1f MiB)\n", grouped(f.file_size()).c_str(),
              static_cast<double>(f.file_size()) / (1024.0 * 1024.0));
  if (!config_error.empty()) throw GgufError(config_error);
  return 0;
}

NUCLEUS_REGISTER_COMMAND("inspect", "Show a GGUF model's architecture, hyperparameters, tokenizer and tensor table",
                         [](CLI::App* sub) -> std::function<int()> {
                           auto model = std::make_shared<std::string>(config::default_model_path());
                           auto show_metadata = std::make_shared<bool>(false);
                           sub->add_option("--model", *model,
                                           "GGUF model file (default: $NUCLEUS_MODEL_DIR or ~/.cache/nucleus/models, "
                                           "SmolLM2-135M-Instruct.Q4_1.gguf)");
                           sub->add_flag("--metadata", *show_metadata, "Also list every metadata key and value");
                           return [model, show_metadata] { return run_inspect(*model, *show_metadata); };
                         });

}  // namespace
}  // namespace nucleus::app

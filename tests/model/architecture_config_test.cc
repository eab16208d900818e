// ModelConfig::from_gguf for the architectures beyond llama/qwen2 on tiny
// synthetic files: the features each one turns on, llama.cpp's defaults
// (gemma2's 4096 window, the sliding-window patterns, the local RoPE base),
// the metadata that overrides them, and the errors for missing tensors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/model_config.h"
#include "tests/common/gguf_writer.h"

namespace nucleus {
namespace {

using test::GgufWriter;
using test::TinyModelSpec;
using ::testing::HasSubstr;

constexpr int kLayers = 6;

// A tiny file of `arch` with the tensors that architecture adds to llama's.
GgufWriter tiny_of(const std::string& arch) {
  TinyModelSpec spec;
  spec.arch = arch;
  spec.n_layers = kLayers;
  GgufWriter w;
  test::add_tiny_model(w, spec);
  const int64_t e = spec.n_embd, hd = spec.n_embd / spec.n_heads;
  for (int i = 0; i < kLayers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    if (arch == "qwen3" || arch == "gemma3") {
      w.add_f32_tensor(p + "attn_q_norm.weight", {hd}, std::vector<float>(hd, 1.0f));
      w.add_f32_tensor(p + "attn_k_norm.weight", {hd}, std::vector<float>(hd, 1.0f));
    }
    if (arch == "gemma2" || arch == "gemma3") {
      w.add_f32_tensor(p + "post_attention_norm.weight", {e}, std::vector<float>(e, 1.0f));
      w.add_f32_tensor(p + "post_ffw_norm.weight", {e}, std::vector<float>(e, 1.0f));
    }
  }
  return w;
}

ModelConfig config_of(GgufWriter& w) { return ModelConfig::from_gguf(GgufFile::from_memory("tiny.gguf", w.build())); }

void expect_error(GgufWriter& w, const std::string& part) {
  try {
    config_of(w);
    ADD_FAILURE() << "expected a GgufError containing '" << part << "'";
  } catch (const GgufError& e) {
    EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

std::vector<int> swa_pattern(const ModelConfig& c) {
  std::vector<int> out;
  for (int i = 0; i < c.n_layers; ++i) out.push_back(c.is_swa(i) ? 1 : 0);
  return out;
}

TEST(ArchitectureConfigTest, Qwen3HasQkNormAndNeoxRope) {
  GgufWriter w = tiny_of("qwen3");
  const ModelConfig c = config_of(w);
  EXPECT_TRUE(c.has_qk_norm);
  EXPECT_FALSE(c.has_qkv_bias);
  EXPECT_EQ(c.rope_style, kernels::RopeStyle::kNeox);
  w.remove_tensor("blk.3.attn_k_norm.weight");
  expect_error(w, "missing tensor 'blk.3.attn_k_norm.weight'");
}

TEST(ArchitectureConfigTest, Gemma2DefaultsFollowLlamaCpp) {
  GgufWriter w = tiny_of("gemma2");
  ModelConfig c = config_of(w);
  EXPECT_EQ(c.ffn_activation, FfnActivation::kGeluTanh);
  EXPECT_TRUE(c.has_post_norms);
  EXPECT_FALSE(c.has_qk_norm);
  EXPECT_EQ(c.embd_scale, std::sqrt(static_cast<float>(c.n_embd)));
  EXPECT_EQ(c.attn_scale, 1.0f / std::sqrt(static_cast<float>(c.head_dim)));
  EXPECT_EQ(c.sliding_window, 4096);  // no attention.sliding_window key: Gemma 2's value
  EXPECT_EQ(swa_pattern(c), (std::vector<int>{1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(c.rope_freq_base_swa, c.rope_freq_base);
  EXPECT_EQ(c.attn_softcap, 0.0f);
  EXPECT_EQ(c.final_softcap, 0.0f);

  w.add_u32("gemma2.attention.sliding_window", 32);
  w.add_f32("gemma2.attn_logit_softcapping", 50.0f);
  w.add_f32("gemma2.final_logit_softcapping", 30.0f);
  c = config_of(w);
  EXPECT_EQ(c.sliding_window, 32);
  EXPECT_EQ(c.attn_softcap, 50.0f);
  EXPECT_EQ(c.final_softcap, 30.0f);
  const kernels::RopeParams local = c.rope_params(0), global = c.rope_params(1);
  EXPECT_EQ(local.freq_base, global.freq_base);

  w.remove_tensor("blk.5.post_ffw_norm.weight");
  expect_error(w, "missing tensor 'blk.5.post_ffw_norm.weight'");
}

TEST(ArchitectureConfigTest, Gemma3PatternAndLocalRope) {
  GgufWriter w = tiny_of("gemma3");
  ModelConfig c = config_of(w);
  EXPECT_EQ(c.sliding_window, 0);  // no window key: every layer global, as llama.cpp
  EXPECT_EQ(swa_pattern(c), (std::vector<int>(kLayers, 0)));
  EXPECT_TRUE(c.has_qk_norm);

  w.add_u32("gemma3.attention.sliding_window", 512);
  w.add_string("gemma3.rope.scaling.type", "linear");
  w.add_f32("gemma3.rope.scaling.factor", 8.0f);
  c = config_of(w);
  EXPECT_EQ(swa_pattern(c), (std::vector<int>{1, 1, 1, 1, 1, 0}));
  const kernels::RopeParams local = c.rope_params(0), global = c.rope_params(5);
  EXPECT_EQ(local.freq_base, 10000.0f);  // llama.cpp's rope_freq_base_train_swa default
  EXPECT_EQ(local.freq_scale, 1.0f);     // the local layers are not scaled
  EXPECT_EQ(global.freq_base, c.rope_freq_base);
  EXPECT_EQ(global.freq_scale, 0.125f);

  w.add_u32("gemma3.attention.sliding_window_pattern", 3);
  c = config_of(w);
  EXPECT_EQ(swa_pattern(c), (std::vector<int>{1, 1, 0, 1, 1, 0}));
  w.set_value("gemma3.attention.sliding_window_pattern", GgufWriter::i32_array({0, 1, 0, 1, 1, 1}));
  c = config_of(w);
  EXPECT_EQ(swa_pattern(c), (std::vector<int>{0, 1, 0, 1, 1, 1}));
  w.set_value("gemma3.attention.sliding_window_pattern", GgufWriter::i32_array({0, 1}));
  expect_error(w, "has 2 entries for 6 layers");
}

TEST(ArchitectureConfigTest, YarnScaling) {
  TinyModelSpec spec;
  spec.arch = "qwen2";
  GgufWriter w;
  test::add_tiny_model(w, spec);
  w.add_string("qwen2.rope.scaling.type", "yarn");
  w.add_f32("qwen2.rope.scaling.factor", 4.0f);
  ModelConfig c = config_of(w);
  EXPECT_TRUE(c.rope_yarn);
  EXPECT_EQ(c.rope_scaling, "yarn x4");
  EXPECT_EQ(c.rope_original_context, c.context_length);  // no original_context_length key
  kernels::RopeParams p = c.rope_params();
  EXPECT_EQ(p.yarn_ext_factor, 1.0f);
  EXPECT_EQ(p.freq_scale, 0.25f);
  w.add_u32("qwen2.rope.scaling.original_context_length", 32768);
  EXPECT_EQ(config_of(w).rope_params().yarn_original_context, 32768);
  w.add_f32("qwen2.rope.scaling.yarn_log_multiplier", 0.1f);
  expect_error(w, "YaRN with a log multiplier) is not supported");
}

TEST(ArchitectureConfigTest, Phi3FusedTensors) {
  TinyModelSpec spec;
  spec.n_layers = 2;
  GgufWriter w;
  test::add_tiny_model(w, spec);  // a llama file, made phi3 below
  const ModelConfig llama = config_of(w);
  const int64_t e = llama.n_embd, q = llama.n_embd_q(), kv = llama.n_embd_kv(), ff = llama.n_ff;
  GgufWriter p;
  // Rename the keys and fuse the tensors as the phi3 converter stores them.
  test::add_tiny_model(p, [&] {
    TinyModelSpec s = spec;
    s.arch = "phi3";
    return s;
  }());
  for (int i = 0; i < 2; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* t : {"attn_q.weight", "attn_k.weight", "attn_v.weight", "ffn_gate.weight", "ffn_up.weight"}) {
      p.remove_tensor(b + t);
    }
    p.add_f32_tensor(b + "attn_qkv.weight", {e, q + 2 * kv}, std::vector<float>(e * (q + 2 * kv), 0.01f));
    p.add_f32_tensor(b + "ffn_up.weight", {e, 2 * ff}, std::vector<float>(e * 2 * ff, 0.01f));
  }
  ModelConfig c = config_of(p);
  EXPECT_TRUE(c.fused_qkv);
  EXPECT_TRUE(c.fused_gate_up);
  EXPECT_TRUE(c.rope_factors_tensor.empty());
  const int64_t half = c.rope_dim / 2;
  p.add_f32_tensor("rope_factors_short.weight", {half}, std::vector<float>(half, 1.5f));
  expect_error(p, "missing tensor 'rope_factors_long.weight'");
  p.add_f32_tensor("rope_factors_long.weight", {half}, std::vector<float>(half, 4.0f));
  c = config_of(p);
  EXPECT_EQ(c.rope_factors_tensor, "rope_factors_short.weight");
  // LongRoPE picks its factors by the context the model runs, as llama.cpp does: the long ones
  // only past the original context (which defaults to the file's context_length).
  c.select_rope_factors(c.rope_original_context);
  EXPECT_EQ(c.rope_factors_tensor, "rope_factors_short.weight");
  c.select_rope_factors(c.rope_original_context + 1);
  EXPECT_EQ(c.rope_factors_tensor, "rope_factors_long.weight");
  EXPECT_THAT(c.rope_scaling, HasSubstr("long factors"));
  c.select_rope_factors(c.rope_original_context);
  EXPECT_EQ(c.rope_factors_tensor, "rope_factors_short.weight");
  p.remove_tensor("blk.1.ffn_up.weight");
  p.add_f32_tensor("blk.1.ffn_up.weight", {e, ff}, std::vector<float>(e * ff, 0.01f));
  expect_error(p, "tensor 'blk.1.ffn_up.weight' has shape");
}

// A model whose features the CUDA ops lack is refused when it is readied for
// CUDA, naming the feature, before any op runs (prepare() needs no device for that).
TEST(ArchitectureConfigTest, CudaRefusesWhatItCannotRun) {
  GgufWriter gemma = tiny_of("gemma2");
  Model m(GgufFile::from_memory("tiny.gguf", gemma.build()));
  EXPECT_EQ(m.config().cuda_unsupported_feature(), "GeGLU feed-forward");
  try {
    m.prepare(kernels::Context{kernels::Device::kCuda, nullptr});
    ADD_FAILURE() << "prepare on CUDA should refuse gemma2";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("tiny.gguf: gemma2 needs GeGLU feed-forward, which is not supported on CUDA yet"));
  }
  GgufWriter qwen3 = tiny_of("qwen3");  // Q/K norms are RMSNorms: CUDA has those
  EXPECT_EQ(config_of(qwen3).cuda_unsupported_feature(), "");
}

}  // namespace
}  // namespace nucleus

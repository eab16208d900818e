// ModelConfig::from_gguf on synthetic llama/qwen2 files (tests/common/gguf_writer.h)
// and on the default model, and every validation error.
#include "model/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/common/gguf_writer.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

using test::GgufWriter;
using test::TinyModelSpec;
using ::testing::HasSubstr;

GgufWriter tiny(const TinyModelSpec& spec = {}) {
  GgufWriter w;
  test::add_tiny_model(w, spec);
  return w;
}

ModelConfig config_of(GgufWriter& w) { return ModelConfig::from_gguf(GgufFile::from_memory("tiny.gguf", w.build())); }

void expect_config_error(GgufWriter& w, const std::string& part) {
  try {
    config_of(w);
    ADD_FAILURE() << "expected a GgufError containing '" << part << "'";
  } catch (const GgufError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tiny.gguf: "));
    EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

TEST(ModelConfigTest, TinyLlama) {
  TinyModelSpec spec;
  spec.n_layers = 3;
  spec.n_embd = 64;
  spec.n_heads = 8;
  spec.n_kv_heads = 2;
  spec.n_ff = 96;
  spec.vocab_size = 50;
  spec.context_length = 128;
  spec.rms_eps = 1e-6f;
  spec.rope_freq_base = 500000.0f;
  GgufWriter w = tiny(spec);
  const ModelConfig c = config_of(w);
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_ff, 96);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.rope_dim, 8);
  EXPECT_EQ(c.n_gqa(), 4);
  EXPECT_EQ(c.n_embd_kv(), 16);
  EXPECT_EQ(c.vocab_size, 50);
  EXPECT_EQ(c.context_length, 128);
  EXPECT_EQ(c.rms_eps, 1e-6f);
  EXPECT_EQ(c.rope_freq_base, 500000.0f);
  EXPECT_EQ(c.rope_freq_scale, 1.0f);
  EXPECT_EQ(c.rope_style, kernels::RopeStyle::kNormal);
  EXPECT_FALSE(c.has_qkv_bias);
  EXPECT_TRUE(c.tied_embeddings);
  const kernels::RopeParams rp = c.rope_params();
  EXPECT_EQ(rp.head_dim, 8);
  EXPECT_EQ(rp.rot_dim, 8);
  EXPECT_EQ(rp.freq_base, 500000.0f);
}

TEST(ModelConfigTest, TinyQwen2HasNeoxRopeBiasesAndUntiedOutput) {
  TinyModelSpec spec;
  spec.arch = "qwen2";
  spec.tied_embeddings = false;
  spec.matrix_type = GgmlType::Q8_0;
  GgufWriter w = tiny(spec);
  const ModelConfig c = config_of(w);
  EXPECT_EQ(c.architecture, "qwen2");
  EXPECT_EQ(c.rope_style, kernels::RopeStyle::kNeox);
  EXPECT_TRUE(c.has_qkv_bias);
  EXPECT_FALSE(c.tied_embeddings);
}

TEST(ModelConfigTest, DefaultsWhenOptionalKeysAreAbsent) {
  GgufWriter w = tiny();
  w.remove_key("llama.attention.head_count_kv").remove_key("llama.rope.freq_base");
  // Without head_count_kv, K and V have as many heads as Q: widen their tensors to match.
  TinyModelSpec full_kv;
  full_kv.n_kv_heads = full_kv.n_heads;
  GgufWriter mha = tiny(full_kv);
  mha.remove_key("llama.attention.head_count_kv").remove_key("llama.rope.freq_base");
  const ModelConfig c = config_of(mha);
  EXPECT_EQ(c.n_kv_heads, c.n_heads);
  EXPECT_EQ(c.rope_freq_base, 10000.0f);
  // The narrow K/V tensors of a GQA file no longer match once head_count_kv is gone.
  expect_config_error(w, "tensor 'blk.0.attn_k.weight' has shape [64, 32], expected [64, 64]");
}

TEST(ModelConfigTest, LinearRopeScalingAndRopeDim) {
  GgufWriter w = tiny();
  w.add_string("llama.rope.scaling.type", "linear").add_f32("llama.rope.scaling.factor", 4.0f);
  w.add_u32("llama.rope.dimension_count", 8);
  const ModelConfig c = config_of(w);
  EXPECT_EQ(c.rope_freq_scale, 0.25f);
  EXPECT_EQ(c.rope_dim, 8);
  EXPECT_EQ(c.head_dim, 16);

  GgufWriter longrope = tiny();
  longrope.add_string("llama.rope.scaling.type", "longrope").add_f32("llama.rope.scaling.factor", 4.0f);
  expect_config_error(longrope, "rope scaling type 'longrope' (llama.rope.scaling.type) is not supported "
                                "(supported: none, linear, yarn)");
  GgufWriter no_factor = tiny();
  no_factor.add_string("llama.rope.scaling.type", "linear");
  expect_config_error(no_factor, "missing metadata key 'llama.rope.scaling.factor'");
  GgufWriter odd = tiny();
  odd.add_u32("llama.rope.dimension_count", 7);
  expect_config_error(odd, "llama.rope.dimension_count = 7 must be even and at most head_dim 16");
}

TEST(ModelConfigTest, VocabSizeFromArchKeyWithoutTokens) {
  GgufWriter w = tiny();
  w.remove_key("tokenizer.ggml.tokens").add_u32("llama.vocab_size", 64);
  EXPECT_EQ(config_of(w).vocab_size, 64);
  w.remove_key("llama.vocab_size");
  expect_config_error(w, "no vocabulary size: neither tokenizer.ggml.tokens nor llama.vocab_size is present");
}

TEST(ModelConfigTest, ArchitectureErrors) {
  GgufWriter w = tiny();
  w.set_value("general.architecture", GgufWriter::string("gpt2"));
  expect_config_error(w, "unsupported architecture 'gpt2' (supported: llama, qwen2, qwen3, gemma2, gemma3, phi3)");
  w.remove_key("general.architecture");
  expect_config_error(w, "missing metadata key 'general.architecture'");
}

// A tensor the architecture does not use is refused by name, never ignored:
// dropping it (as rope_freqs once was) runs a different model than the file's.
TEST(ModelConfigTest, UnknownTensorsAreRefused) {
  {
    GgufWriter w = tiny();
    w.add_f32_tensor("blk.0.attn_q_norm.weight", {8}, std::vector<float>(8, 1.0f));
    expect_config_error(w, "unknown tensor 'blk.0.attn_q_norm.weight': architecture llama does not use it");
  }
  {
    TinyModelSpec spec;
    spec.arch = "qwen2";
    GgufWriter w = tiny(spec);
    w.add_f32_tensor("rope_freqs.weight", {4}, std::vector<float>(4, 1.0f));
    expect_config_error(w, "unknown tensor 'rope_freqs.weight': architecture qwen2 does not use it");
  }
}

// llama3 RoPE scaling: rope_freqs.weight [rope_dim / 2] is used (and must be F32 of that size).
TEST(ModelConfigTest, LlamaRopeFreqsAreUsed) {
  GgufWriter w = tiny();
  const ModelConfig plain = config_of(w);
  EXPECT_TRUE(plain.rope_factors_tensor.empty());
  w.add_f32_tensor("rope_freqs.weight", {plain.rope_dim / 2}, std::vector<float>(plain.rope_dim / 2, 2.0f));
  const ModelConfig c = config_of(w);
  EXPECT_EQ(c.rope_factors_tensor, "rope_freqs.weight");
  EXPECT_EQ(c.rope_scaling, "llama3 (rope_freqs)");
  w.remove_tensor("rope_freqs.weight");
  w.add_f32_tensor("rope_freqs.weight", {plain.rope_dim}, std::vector<float>(plain.rope_dim, 2.0f));
  expect_config_error(w, "tensor 'rope_freqs.weight' has shape");
}

TEST(ModelConfigTest, HyperparameterErrors) {
  {
    GgufWriter w = tiny();
    w.remove_key("llama.block_count");
    expect_config_error(w, "missing metadata key 'llama.block_count'");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.block_count", GgufWriter::u32(0));
    expect_config_error(w, "llama.block_count = 0 is out of range");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.attention.head_count_kv", GgufWriter::u32(3));
    expect_config_error(w, "head_count 4 is not a multiple of head_count_kv 3");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.attention.head_count", GgufWriter::u32(6));
    w.set_value("llama.attention.head_count_kv", GgufWriter::u32(6));
    expect_config_error(w, "embedding_length 64 is not a multiple of head_count 6");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.attention.layer_norm_rms_epsilon", GgufWriter::f32(-1.0f));
    expect_config_error(w, "'llama.attention.layer_norm_rms_epsilon' = -1.000000 must be a positive finite number");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.feed_forward_length", GgufWriter::u32_array({96, 96}));
    expect_config_error(w, "'llama.feed_forward_length' is a per-layer array");
  }
  {
    GgufWriter w = tiny();
    w.set_value("llama.embedding_length", GgufWriter::string("64"));
    expect_config_error(w, "metadata key 'llama.embedding_length' is string, expected an integer");
  }
}

TEST(ModelConfigTest, TensorErrors) {
  {
    GgufWriter w = tiny();
    w.remove_tensor("blk.1.ffn_down.weight");
    expect_config_error(w, "missing tensor 'blk.1.ffn_down.weight' (expected shape [96, 64])");
  }
  {
    TinyModelSpec spec;
    spec.arch = "qwen2";
    GgufWriter w = tiny(spec);
    w.remove_tensor("blk.0.attn_v.bias");
    expect_config_error(w, "missing tensor 'blk.0.attn_v.bias' (expected shape [32])");
  }
  {
    GgufWriter w = tiny();
    w.remove_tensor("blk.0.ffn_norm.weight").add_f16_tensor("blk.0.ffn_norm.weight", {64}, std::vector<float>(64, 1));
    expect_config_error(w, "tensor 'blk.0.ffn_norm.weight' has type F16, expected F32");
  }
  {
    GgufWriter w = tiny();  // the vocabulary says 65 tokens, token_embd has 64 rows
    std::vector<std::string> tokens(65, "x");
    w.set_value("tokenizer.ggml.tokens", GgufWriter::string_array(tokens));
    expect_config_error(w, "tensor 'token_embd.weight' has shape [64, 64], expected [64, 65]");
  }
}

// Files from an independent writer (the gguf Python package's GGUFWriter, via
// scripts/golden/gen_fuzz_corpus.py); the expected values are the script's arguments.
TEST(ModelConfigTest, FilesWrittenByGgufPython) {
  const std::string dir = test::source_dir() + "/tests/fuzz/corpus/gguf/";
  const ModelConfig llama = ModelConfig::from_gguf(GgufFile::open(dir + "tiny_llama.gguf"));
  EXPECT_EQ(llama.architecture, "llama");
  EXPECT_EQ(llama.n_layers, 2);
  EXPECT_EQ(llama.n_embd, 32);
  EXPECT_EQ(llama.n_heads, 4);
  EXPECT_EQ(llama.n_kv_heads, 2);
  EXPECT_EQ(llama.n_ff, 64);
  EXPECT_EQ(llama.vocab_size, 32);
  EXPECT_EQ(llama.context_length, 128);
  EXPECT_TRUE(llama.tied_embeddings);
  EXPECT_FALSE(llama.has_qkv_bias);

  const ModelConfig qwen = ModelConfig::from_gguf(GgufFile::open(dir + "tiny_qwen2.gguf"));
  EXPECT_EQ(qwen.architecture, "qwen2");
  EXPECT_EQ(qwen.n_layers, 1);
  EXPECT_EQ(qwen.n_heads, 2);
  EXPECT_EQ(qwen.n_kv_heads, 1);
  EXPECT_EQ(qwen.head_dim, 16);
  EXPECT_EQ(qwen.rope_freq_scale, 0.5f);  // linear scaling, factor 2
  EXPECT_EQ(qwen.rope_style, kernels::RopeStyle::kNeox);
  EXPECT_TRUE(qwen.has_qkv_bias);
  EXPECT_FALSE(qwen.tied_embeddings);
}

TEST(ModelConfigTest, DefaultModel) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  const ModelConfig c = ModelConfig::from_gguf(GgufFile::open(path));
  // SmolLM2-135M: the values of its config.json (HuggingFaceTB/SmolLM2-135M-Instruct).
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.n_embd, 576);
  EXPECT_EQ(c.n_ff, 1536);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope_dim, 64);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.context_length, 8192);
  EXPECT_EQ(c.rms_eps, 1e-5f);
  EXPECT_EQ(c.rope_freq_base, 100000.0f);
  EXPECT_EQ(c.rope_freq_scale, 1.0f);
  EXPECT_EQ(c.rope_style, kernels::RopeStyle::kNormal);
  EXPECT_FALSE(c.has_qkv_bias);
  EXPECT_TRUE(c.tied_embeddings);
}

}  // namespace
}  // namespace nucleus

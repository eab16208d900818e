// Cross-ISA determinism of the whole forward pass: a model's logits on the
// AVX-512, AVX2 and scalar kernel paths are bitwise equal. Each path loads the
// model itself, so its weights are packed (or not) as that path packs them.
//
// Two runs per path: (a) 16 one-token sequences at position 0 in one batch,
// where attention reduces to its single value, so every other op of every
// layer (embedding, RMSNorm, the matmuls, RoPE, SwiGLU/GeGLU, the LM head) is
// compared on every path; (b) one sequence of 30 tokens prefilled in chunks
// of 7 then 4 decode steps, which adds attention over many keys. (b) is
// compared between AVX-512 and AVX2 (which share the attention kernel), and
// on the scalar path too when the attention kernel itself is bitwise equal
// across paths (checked here on the model's head shape and printed): that
// kernel is made path-independent separately.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/device.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "tests/common/test_env.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

enum class Path { kAvx512, kAvx2, kScalar };

const char* name_of(Path p) { return p == Path::kAvx512 ? "avx512" : p == Path::kAvx2 ? "avx2" : "scalar"; }

// Forces a kernel path for its lifetime (the tests' hooks behind NUCLEUS_NO_AVX512 / NUCLEUS_NO_AVX2).
struct ForcePath {
  explicit ForcePath(Path p) {
    kernels::cpu::force_scalar_kernels(p == Path::kScalar);
    kernels::cpu::force_no_avx512(p != Path::kAvx512);
  }
  ~ForcePath() {
    kernels::cpu::force_scalar_kernels(false);
    kernels::cpu::force_no_avx512(false);
  }
};

struct PathLogits {
  std::vector<float> first_positions;  // (a) [16, vocab]
  std::vector<float> sequence;         // (b) [30 + 4, vocab]
};

PathLogits logits_on(Path path, const std::string& model_path) {
  ForcePath force(path);
  std::unique_ptr<Model> model = Model::load(model_path);
  kernels::ThreadPool pool(2);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  const int vocab = model->config().vocab_size;
  PathLogits out;
  {
    std::vector<test::SeqSpec> seqs;
    for (int s = 0; s < 16; ++s) seqs.push_back({{static_cast<int32_t>((s * 3001 + 7) % vocab)}, 0, s});
    KvStorage kv(model->config(), 16, 16);
    ForwardBatch b = test::make_batch(seqs, kv.block_size(), 1, true);
    out.first_positions.resize(seqs.size() * static_cast<size_t>(vocab));
    model->forward(ctx, b, kv, out.first_positions.data());
  }
  std::vector<int32_t> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  KvStorage kv(model->config(), 8, 16);
  out.sequence = test::run_chunked(*model, kv, ctx, ids, 7);
  for (int step = 0; step < 4; ++step) {  // each step feeds the previous step's top token
    const float* last = out.sequence.data() + out.sequence.size() - vocab;
    const auto next = static_cast<int32_t>(std::max_element(last, last + vocab) - last);
    test::SeqSpec spec{{next}, static_cast<int32_t>(ids.size()), 0};
    ids.push_back(next);
    ForwardBatch b = test::make_batch({spec}, kv.block_size(), 8, true);
    std::vector<float> row(static_cast<size_t>(vocab));
    model->forward(ctx, b, kv, row.data());
    out.sequence.insert(out.sequence.end(), row.begin(), row.end());
  }
  return out;
}

// Whether the attention kernel alone gives the same bits on the AVX2 and
// scalar paths, on the model's head shape: 40 positions of random data.
bool attention_bitwise_across_paths(const ModelConfig& c) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  const int len = 40, block = 16, blocks = 3;
  const int64_t row = static_cast<int64_t>(c.n_kv_heads) * c.head_dim, q_row = static_cast<int64_t>(c.n_heads) * c.head_dim;
  std::vector<float> k(static_cast<size_t>(len * row)), v(k.size()), q(static_cast<size_t>(len * q_row));
  for (float* data : {k.data(), v.data()}) std::generate(data, data + k.size(), [&] { return dist(rng); });
  std::generate(q.begin(), q.end(), [&] { return dist(rng); });
  std::vector<int32_t> slots(len), seq(len, 0), pos(len), table = {0, 1, 2};
  std::iota(slots.begin(), slots.end(), 0);
  std::iota(pos.begin(), pos.end(), 0);
  kernels::ThreadPool pool(1);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  std::vector<float> out[2];
  for (int p = 0; p < 2; ++p) {
    ForcePath force(p == 0 ? Path::kAvx2 : Path::kScalar);
    std::vector<float> kc(static_cast<size_t>(blocks * block * row)), vc(kc.size());
    const kernels::KvLayerView cache{kc.data(), vc.data(), blocks * block, c.n_kv_heads, c.head_dim};
    kernels::write_kv(ctx, cache, k.data(), v.data(), slots.data(), len);
    const kernels::AttentionBatch batch{len, seq.data(), pos.data(), table.data(), blocks, block, 1};
    out[p].resize(static_cast<size_t>(len * q_row));
    kernels::attention(ctx, q.data(), cache, batch, c.n_heads, 0.125f, out[p].data());
  }
  return std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)) == 0;
}

// How many floats of a and b differ bitwise, and where the first does.
std::string differences(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return "sizes differ";
  size_t differ = 0, first = a.size();
  for (size_t k = 0; k < a.size(); ++k) {
    if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0 && differ++ == 0) first = k;
  }
  return differ == 0 ? "" : std::to_string(differ) + " of " + std::to_string(a.size()) + " logits differ, the first at " +
                                std::to_string(first);
}

void expect_equal_on_every_path(const std::string& model_path) {
  std::vector<Path> paths = {Path::kScalar};
  if (kernels::cpu::cpu_has_avx2()) paths.insert(paths.begin(), Path::kAvx2);
  if (kernels::cpu::cpu_has_avx512()) paths.insert(paths.begin(), Path::kAvx512);
  if (paths.size() < 2) GTEST_SKIP() << "one kernel path on this CPU";
  const bool attention_exact =
      !kernels::cpu::cpu_has_avx2() || attention_bitwise_across_paths(Model::load(model_path)->config());
  if (!attention_exact) {
    std::printf("  note: the attention kernel differs between the AVX2 and scalar paths: the scalar path is compared "
                "at position 0 only\n");
  }
  const PathLogits first = logits_on(paths[0], model_path);
  for (size_t i = 1; i < paths.size(); ++i) {
    const PathLogits other = logits_on(paths[i], model_path);
    EXPECT_EQ(differences(other.first_positions, first.first_positions), "")
        << "position 0: " << name_of(paths[i]) << " vs " << name_of(paths[0]);
    if (paths[i] != Path::kScalar || attention_exact) {
      EXPECT_EQ(differences(other.sequence, first.sequence), "")
          << "prefill and decode: " << name_of(paths[i]) << " vs " << name_of(paths[0]);
    }
  }
}

TEST(CrossPathModelTest, DefaultModelLogitsBitwiseEqualOnEveryPath) {
  NUCLEUS_REQUIRE_DEFAULT_MODEL(path);
  expect_equal_on_every_path(path);
}

// The random-weight models of tests/model/architectures_test.cc (which
// generates them into the cache): the weight types whose kernels are
// path-independent (Q4_1 is the default model's), GeGLU and soft-capping
// (gemma2), YaRN RoPE (qwen2yarn).
class CrossPathArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrossPathArchTest, LogitsBitwiseEqualOnEveryPath) {
  const char* home = std::getenv("HOME");
  const std::string path = std::string(home ? home : "") + "/.cache/nucleus/arch_models/" + GetParam() + ".gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing: architectures_test generates it";
  expect_equal_on_every_path(path);
}

INSTANTIATE_TEST_SUITE_P(RandomWeights, CrossPathArchTest,
                         ::testing::Values("llama3.f32", "llama3.f16", "llama3.bf16", "llama3.q4_0", "llama3.q8_0",
                                           "gemma2.f32", "qwen2yarn.f32"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '.' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace nucleus

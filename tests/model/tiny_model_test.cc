// The tiny test model of tests/common/tiny_engine.h is what the engine tests
// stand on: check that its tokenizer and model agree on the vocabulary, that
// encode/decode round-trips, that the logits are finite, depend on the input,
// and do not depend on how the prompt is chunked.
#include "tests/common/tiny_engine.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/kv_storage.h"
#include "kernels/thread_pool.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

TEST(TinyModel, TokenizerMatchesTheModelVocabulary) {
  const test::TinyLm lm = test::make_tiny_lm();
  EXPECT_EQ(lm.tokenizer->vocab_size(), lm.model->config().vocab_size);
  EXPECT_EQ(lm.vocab, 256 + static_cast<int>(test::tiny_merges().size()) + 1);
  EXPECT_EQ(lm.tokenizer->eos_id(), lm.eos);
  EXPECT_TRUE(lm.tokenizer->is_end_of_generation(lm.eos));
  const std::string text = "the weather in the city is on the other side";
  const std::vector<int32_t> ids = lm.tokenizer->encode(text);
  EXPECT_LT(ids.size(), text.size());  // merges apply
  EXPECT_EQ(lm.tokenizer->decode(ids), text);
  EXPECT_EQ(lm.tokenizer->encode("a"), std::vector<int32_t>{'a'});  // byte ids are the bytes
}

// For every KV cache dtype (heads of 32 so that q8_0 fits).
class TinyModelKv : public ::testing::TestWithParam<kernels::KvDtype> {};
INSTANTIATE_TEST_SUITE_P(EveryDtype, TinyModelKv,
                         ::testing::Values(kernels::KvDtype::kF32, kernels::KvDtype::kF16, kernels::KvDtype::kQ8_0),
                         [](const auto& info) { return std::string(kernels::kv_dtype_name(info.param)); });

TEST_P(TinyModelKv, LogitsAreFiniteInputDependentAndChunkingInvariant) {
  test::TinyLm lm = test::make_tiny_lm(7, 512, 2, 1);
  const ModelConfig& c = lm.model->config();
  kernels::ThreadPool pool(1);
  const kernels::Context ctx{kernels::Device::kCpu, &pool};
  KvStorage kv(c, 8, 16, kernels::Device::kCpu, GetParam());
  const std::vector<int32_t> ids = test::tiny_prompt(40, 1);
  const std::vector<float> whole = test::run_chunked(*lm.model, kv, ctx, ids, ids.size());
  const std::vector<float> chunked = test::run_chunked(*lm.model, kv, ctx, ids, 7);
  ASSERT_EQ(whole.size(), chunked.size());
  EXPECT_EQ(whole, chunked);  // bitwise: the engine's batch invariance depends on it
  for (float x : whole) ASSERT_TRUE(std::isfinite(x));
  // Different last tokens give different distributions (the model is not constant).
  std::vector<int32_t> other = ids;
  other.back() = other.back() == 'x' ? 'y' : 'x';
  const std::vector<float> changed = test::run_chunked(*lm.model, kv, ctx, other, other.size());
  const size_t last = (ids.size() - 1) * c.vocab_size;
  EXPECT_FALSE(std::equal(whole.begin() + last, whole.end(), changed.begin() + last));
  // Peaky enough: the top logit stands out, so sampled outputs depend on the input.
  float mx = -1e30f, mean = 0;
  for (int v = 0; v < c.vocab_size; ++v) {
    mx = std::max(mx, whole[last + v]);
    mean += whole[last + v] / c.vocab_size;
  }
  EXPECT_GT(mx - mean, 1.0f);
}

}  // namespace
}  // namespace nucleus

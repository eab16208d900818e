// Table tests for each stage on 4-token distributions with hand-computed values
// (as llama.cpp's tests/test-sampling.cpp). The filtered distribution is read back
// through processed logprobs.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sampling/sampler.h"
#include "tests/sampling/sample_helpers.h"

namespace nucleus::sampling {
namespace {

using test::log_of;
using test::processed_probs;
using test::sample_one;

const std::vector<double> kProbs = {0.1, 0.2, 0.3, 0.4};

void expect_probs(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "token " << i;
}

TEST(Stages, NoFilterKeepsTheSoftmax) { expect_probs(processed_probs(log_of(kProbs), {}), kProbs); }

TEST(Stages, TopK) {
  SamplingParams p;
  p.top_k = 3;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
  p.top_k = 2;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 3.0 / 7, 4.0 / 7});
  p.top_k = 4;
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
  p.top_k = 100;  // larger than the vocabulary
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
}

TEST(Stages, TopKKeepsTiesAtTheBoundary) {
  SamplingParams p;
  p.top_k = 2;
  // 0.4 and the two 0.25s: the second largest value is 0.25, both copies stay.
  expect_probs(processed_probs(log_of({0.1, 0.25, 0.25, 0.4}), p), {0, 0.25 / 0.9, 0.25 / 0.9, 0.4 / 0.9});
}

TEST(Stages, TopP) {
  SamplingParams p;
  p.top_p = 0.35f;  // 0.4 alone reaches it
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 0, 1});
  p.top_p = 0.5f;  // 0.4 < 0.5, so 0.3 joins
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 3.0 / 7, 4.0 / 7});
  p.top_p = 0.8f;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
  p.top_p = 0.95f;
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
  p.top_p = 1.0f;
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
}

TEST(Stages, MinP) {
  SamplingParams p;
  p.min_p = 0.5f;  // keep p >= 0.2
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
  p.min_p = 0.76f;  // keep p >= 0.304
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 0, 1});
  p.min_p = 0.2f;
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
}

// H = 1.27985; |-log p - H| = 1.0227, 0.3295, 0.0759, 0.3636 for 0.1 .. 0.4.
// Ascending score: 0.3, 0.2, 0.4, 0.1 with mass before each 0, 0.3, 0.5, 0.9.
TEST(Stages, TypicalP) {
  SamplingParams p;
  p.typical_p = 0.2f;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 1, 0});
  p.typical_p = 0.45f;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0.4, 0.6, 0});
  p.typical_p = 0.6f;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
  p.typical_p = 0.95f;
  expect_probs(processed_probs(log_of(kProbs), p), kProbs);
}

TEST(Stages, Temperature) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  SamplingParams p;
  p.temperature = 0.5f;  // softmax(2, 4, 6)
  const double z = std::exp(2.0) + std::exp(4.0) + std::exp(6.0);
  expect_probs(processed_probs(logits, p), {std::exp(2.0) / z, std::exp(4.0) / z, std::exp(6.0) / z});
  p.temperature = 2.0f;  // softmax(0.5, 1, 1.5)
  const double z2 = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  expect_probs(processed_probs(logits, p), {std::exp(0.5) / z2, std::exp(1.0) / z2, std::exp(1.5) / z2});
}

TEST(Stages, EachFilterSeesTheRenormalisedSurvivors) {
  SamplingParams p;
  p.top_k = 3;
  p.top_p = 0.75f;  // over {0.2, 0.3, 0.4} / 0.9: 0.444 + 0.333 >= 0.75 drops 0.2 (alone, top_p keeps it)
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 3.0 / 7, 4.0 / 7});
  SamplingParams q;
  q.top_p = 0.75f;
  expect_probs(processed_probs(log_of(kProbs), q), {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9});
}

TEST(Stages, TemperatureComesBeforeMinP) {
  // With T = 0.5 the probabilities become (0.1^2, .., 0.4^2) / 0.3 = 1/30, 4/30, 9/30, 16/30;
  // min_p 0.5 then keeps 9/30 and 16/30 (>= 8/30), where on the T=1 values it would keep three.
  SamplingParams p;
  p.temperature = 0.5f;
  p.min_p = 0.5f;
  expect_probs(processed_probs(log_of(kProbs), p), {0, 0, 9.0 / 25, 16.0 / 25});
}

TEST(Stages, LogitBiasAndMasks) {
  SamplingParams p;
  p.logit_bias = {{0, static_cast<float>(std::log(4.0))}};  // 0.1 -> 0.4 before normalisation
  expect_probs(processed_probs(log_of(kProbs), p), {0.4 / 1.3, 0.2 / 1.3, 0.3 / 1.3, 0.4 / 1.3});
  SamplingParams bad;
  bad.bad_token_ids = {3};
  expect_probs(processed_probs(log_of(kProbs), bad), {1.0 / 6, 2.0 / 6, 3.0 / 6, 0});
  SamplingParams allowed;
  allowed.allowed_token_ids = {0, 3};
  expect_probs(processed_probs(log_of(kProbs), allowed), {0.2, 0, 0, 0.8});
  // A per-row token mask (JSON mode) acts like a list of bad ids; greedy takes the best allowed.
  const uint8_t mask[4] = {1, 0, 1, 0};
  test::OneRow masked;
  masked.token_mask = mask;
  expect_probs(processed_probs(log_of(kProbs), {}, masked), {0.25, 0, 0.75, 0});
  SamplingParams greedy;
  greedy.temperature = 0;
  EXPECT_EQ(sample_one(log_of(kProbs), greedy, masked).token_id, 2);
}

TEST(Stages, MinTokensSuppressesEosAndStopIds) {
  SamplingParams p;
  p.min_tokens = 2;
  p.stop_token_ids = {2};
  test::OneRow row;
  row.eos = {3};
  row.num_output_tokens = 1;
  expect_probs(processed_probs(log_of(kProbs), p, row), {1.0 / 3, 2.0 / 3, 0, 0});
  row.pending = {1};  // a pending (drafted) token counts as output: min_tokens reached
  expect_probs(processed_probs(log_of(kProbs), p, row), kProbs);
  row.pending.clear();
  row.num_output_tokens = 2;
  expect_probs(processed_probs(log_of(kProbs), p, row), kProbs);
}

TEST(Stages, GreedyTakesTheArgmaxLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0.0f;
  EXPECT_EQ(sample_one({0.5f, 2.0f, -1.0f, 1.0f}, p).token_id, 1);
  EXPECT_EQ(sample_one({0.5f, 2.0f, -1.0f, 2.0f}, p).token_id, 1);
  p.logit_bias = {{3, 0.5f}};
  EXPECT_EQ(sample_one({0.5f, 2.0f, -1.0f, 2.0f}, p).token_id, 3);
  SamplingParams k1;
  k1.top_k = 1;
  EXPECT_EQ(sample_one({3.0f, 2.0f, -1.0f, 1.0f}, k1).token_id, 0);
}

TEST(Stages, GreedyProcessedLogprobsAreTheLogSoftmax) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logprobs = 2;
  p.logprobs_mode = LogprobsMode::kProcessed;
  const RowResult r = sample_one(log_of(kProbs), p);
  EXPECT_EQ(r.token_id, 3);
  EXPECT_NEAR(r.logprob, std::log(0.4), 1e-6);
  EXPECT_EQ(r.rank, 1);
  ASSERT_EQ(r.num_top, 2);
  EXPECT_EQ(r.top[1].token_id, 2);
  EXPECT_NEAR(r.top[1].logprob, std::log(0.3), 1e-6);
}

TEST(Stages, RawLogprobsIgnoreTheStages) {
  SamplingParams p;
  p.top_k = 1000;
  p.bad_token_ids = {3};
  p.temperature = 0.3f;
  p.logprobs = 3;
  p.logprobs_mode = LogprobsMode::kRaw;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const RowResult r = sample_one(log_of(kProbs), p, test::with_seed(seed));
    ASSERT_NE(r.token_id, 3);
    EXPECT_NEAR(r.logprob, std::log(kProbs[r.token_id]), 1e-6);
    EXPECT_EQ(r.rank, 4 - r.token_id);  // rank 1 = most likely (token 3)
    ASSERT_EQ(r.num_top, 3);
    EXPECT_EQ(r.top[0].token_id, 3);
    EXPECT_NEAR(r.top[0].logprob, std::log(0.4), 1e-6);
    EXPECT_EQ(r.top[2].token_id, 1);
  }
}

TEST(Stages, ProcessedRankCountsSurvivors) {
  SamplingParams p;
  p.top_k = 2;
  p.logprobs = 0;
  p.logprobs_mode = LogprobsMode::kProcessed;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const RowResult r = sample_one(log_of(kProbs), p, test::with_seed(seed));
    ASSERT_TRUE(r.token_id == 2 || r.token_id == 3);
    EXPECT_EQ(r.rank, r.token_id == 3 ? 1 : 2);
    EXPECT_NEAR(r.logprob, std::log(r.token_id == 3 ? 4.0 / 7 : 3.0 / 7), 1e-6);
    EXPECT_EQ(r.num_top, 0);
  }
}

}  // namespace
}  // namespace nucleus::sampling

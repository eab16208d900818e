#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "sampling/sampler.h"
#include "tests/sampling/sample_helpers.h"

namespace nucleus::sampling {
namespace {

using test::sample_one;
using test::with_seed;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(EdgeCases, AllMinusInfButOne) {
  SamplingParams p;
  p.top_p = 0.9f;
  p.typical_p = 0.5f;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const RowResult r = sample_one({-kInf, -kInf, 1.5f, -kInf}, p, with_seed(seed));
    EXPECT_EQ(r.token_id, 2);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.flags, 0u);
  }
}

TEST(EdgeCases, NothingToSampleIsReportedWithAValidId) {
  for (const std::vector<float>& logits : {std::vector<float>{-kInf, -kInf, -kInf}, std::vector<float>{kNan, kNan, kNan}}) {
    for (const float temperature : {0.0f, 1.0f}) {
      SamplingParams p;
      p.temperature = temperature;
      p.logprobs = 3;
      const RowResult r = sample_one(logits, p);
      EXPECT_FALSE(r.ok());
      EXPECT_EQ(r.token_id, 0);
    }
  }
  SamplingParams masked;  // every allowed token is also bad
  masked.allowed_token_ids = {1};
  masked.bad_token_ids = {1};
  EXPECT_FALSE(sample_one({1.0f, 2.0f}, masked).ok());
}

TEST(EdgeCases, NanLogitsAreFlaggedAndNeverSampled) {
  SamplingParams p;
  p.logprobs = 4;
  p.logprobs_mode = LogprobsMode::kRaw;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const RowResult r = sample_one({kNan, 0.0f, kNan, 0.1f}, p, with_seed(seed));
    EXPECT_TRUE(r.ok());
    EXPECT_NE(r.flags & kNanLogits, 0u);
    EXPECT_TRUE(r.token_id == 1 || r.token_id == 3) << r.token_id;
    EXPECT_TRUE(std::isfinite(r.logprob));
    EXPECT_EQ(r.num_top, 2);  // the NaN ids have no logprob
  }
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_EQ(sample_one({kNan, 0.0f, kNan, 0.1f}, greedy).token_id, 3);
}

TEST(EdgeCases, PlusInfinityWins) {
  SamplingParams p;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const RowResult r = sample_one({0.0f, kInf, 3.0f}, p, with_seed(seed));
    EXPECT_EQ(r.token_id, 1);
    EXPECT_NE(r.flags & kInfLogits, 0u);
  }
}

TEST(EdgeCases, VocabOfOne) {
  SamplingParams p;
  p.top_k = 5;
  p.top_p = 0.1f;
  p.logprobs = 20;
  p.logprobs_mode = LogprobsMode::kProcessed;
  const RowResult r = sample_one({-3.0f}, p);
  EXPECT_EQ(r.token_id, 0);
  EXPECT_FLOAT_EQ(r.logprob, 0.0f);
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.num_top, 1);
}

TEST(EdgeCases, TinyTemperatureIsGreedyWithoutNan) {
  SamplingParams p;
  p.temperature = 1e-6f;
  p.logprobs = 2;
  p.logprobs_mode = LogprobsMode::kProcessed;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const RowResult r = sample_one({1e30f, 2.0f, 1e30f * 0.999f, -1e30f}, p, with_seed(seed));
    EXPECT_EQ(r.token_id, 0);
    EXPECT_EQ(r.logprob, 0.0f);
    EXPECT_EQ(r.flags, 0u);
  }
}

TEST(EdgeCases, SubnormalTemperatureIsGreedy) {
  SamplingParams p;
  p.temperature = 1e-40f;  // 1 / T would overflow to inf
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const RowResult r = sample_one({0.5f, 2.0f, 1.9f}, p, with_seed(seed));
    EXPECT_EQ(r.token_id, 1);
    EXPECT_TRUE(r.ok());
  }
  p.temperature = 2e-5f;  // just above the greedy cut: still the argmax, through the sampling path
  EXPECT_EQ(sample_one({0.5f, 2.0f, 1.9f}, p).token_id, 1);
}

TEST(EdgeCases, LogitsHoldThePenalisedRowOnReturn) {
  SamplingParams p;
  p.logit_bias = {{0, 1.0f}};
  p.bad_token_ids = {2};
  p.frequency_penalty = 0.5f;
  PenaltyState s;
  s.accept(1);
  std::vector<float> row = {0.0f, 0.0f, 0.0f};
  RowInput in;
  in.params = &p;
  in.penalties = &s;
  RowResult r;
  Sampler().sample(row.data(), 1, 3, {&in, 1}, {&r, 1});
  EXPECT_EQ(row, (std::vector<float>{1.0f, -0.5f, -kInf}));
}

// Expects sample() to throw with every fragment in the message.
void expect_rejected(const RowInput& in, int64_t vocab, std::initializer_list<std::string> fragments) {
  std::vector<float> row(vocab, 0.0f);
  RowResult r;
  try {
    Sampler().sample(row.data(), 1, vocab, {&in, 1}, {&r, 1});
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    for (const std::string& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(EdgeCases, InconsistentInputIsRejectedWithAClearMessage) {
  RowInput in;
  expect_rejected(in, 4, {"row 0", "params is null"});
  SamplingParams p;
  p.logit_bias = {{7, 1.0f}};
  in.params = &p;
  expect_rejected(in, 4, {"row 0", "logit_bias", "7", "[0, 4)"});
  SamplingParams q;
  in.params = &q;
  PenaltyState s;
  s.accept(9);
  in.penalties = &s;
  expect_rejected(in, 4, {"penalty state", "9"});
  in.penalties = nullptr;
  const std::vector<int32_t> eos = {4};
  in.eos_token_ids = eos;
  expect_rejected(in, 4, {"eos_token_ids", "4"});
  in.eos_token_ids = {};
  SamplingParams hot;
  hot.temperature = 5.0f;
  in.params = &hot;
  expect_rejected(in, 4, {"temperature"});

  std::vector<float> row(4, 0.0f);
  std::vector<RowResult> results(2);
  EXPECT_THROW(Sampler().sample(row.data(), 1, 4, {&in, 1}, results), std::invalid_argument);
  EXPECT_THROW(Sampler().sample(row.data(), 1, 0, {&in, 1}, {results.data(), 1}), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus::sampling

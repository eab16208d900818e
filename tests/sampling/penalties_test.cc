#include "sampling/penalties.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace nucleus::sampling {
namespace {

TEST(PenaltyState, CountsPromptAndOutputSeparately) {
  const std::vector<int32_t> prompt = {5, 7, 5};
  PenaltyState s(prompt);
  s.accept(7);
  s.accept(9);
  s.accept(9);
  EXPECT_EQ(s.num_output_tokens(), 3);
  EXPECT_EQ(s.max_token_id(), 9);
  ASSERT_EQ(s.entries().size(), 3u);
  ASSERT_NE(s.find(5), nullptr);
  EXPECT_TRUE(s.find(5)->in_prompt);
  EXPECT_EQ(s.find(5)->output_count, 0u);
  EXPECT_TRUE(s.find(7)->in_prompt);
  EXPECT_EQ(s.find(7)->output_count, 1u);
  EXPECT_FALSE(s.find(9)->in_prompt);
  EXPECT_EQ(s.find(9)->output_count, 2u);
  EXPECT_EQ(s.find(6), nullptr);
  EXPECT_THROW(s.accept(-1), std::invalid_argument);
}

// Hand-computed: repetition divides positive / multiplies negative logits of seen ids,
// then frequency * count and presence are subtracted for output ids.
TEST(Penalties, VllmFormula) {
  StageParams p;
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  const std::vector<int32_t> prompt = {0};
  PenaltyState s(prompt);  // 0: prompt only
  s.accept(1);             // 1: output once
  s.accept(2);
  s.accept(2);  // 2: output twice
  std::vector<float> l = {2.0f, -2.0f, 1.0f, 0.5f};
  apply_penalties(l.data(), &s, {}, p);
  EXPECT_FLOAT_EQ(l[0], 1.0f);                       // 2 / 2
  EXPECT_FLOAT_EQ(l[1], -4.0f - 0.5f - 0.25f);       // -2 * 2 - 0.5 * 1 - 0.25
  EXPECT_FLOAT_EQ(l[2], 0.5f - 1.0f - 0.25f);        // 1 / 2 - 0.5 * 2 - 0.25
  EXPECT_FLOAT_EQ(l[3], 0.5f);                       // never seen
}

TEST(Penalties, PendingTokensEqualAcceptingThem) {
  StageParams p;
  p.repetition_penalty = 1.3f;
  p.frequency_penalty = 0.7f;
  p.presence_penalty = -0.4f;
  const std::vector<int32_t> prompt = {1, 4};
  PenaltyState base(prompt);
  base.accept(2);
  base.accept(4);
  const std::vector<int32_t> pending = {2, 3, 2, 6};
  PenaltyState accepted = base;
  for (const int32_t t : pending) accepted.accept(t);

  std::vector<float> a = {0.3f, -1.2f, 2.5f, 0.9f, -0.1f, 1.7f, 3.0f, -2.0f};
  std::vector<float> b = a;
  apply_penalties(a.data(), &base, pending, p);
  apply_penalties(b.data(), &accepted, {}, p);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]) << "token " << i;
}

TEST(Penalties, PendingWithoutState) {
  StageParams p;
  p.frequency_penalty = 1.0f;
  std::vector<float> l = {0.0f, 0.0f, 0.0f};
  const std::vector<int32_t> pending = {1, 1};
  apply_penalties(l.data(), nullptr, pending, p);
  EXPECT_FLOAT_EQ(l[0], 0.0f);
  EXPECT_FLOAT_EQ(l[1], -2.0f);
}

}  // namespace
}  // namespace nucleus::sampling

// Which candidates answer a request (best_of ranks by mean token logprob per
// prompt), and what a choice collects from its deltas; hand-made logprobs.
#include "server/choices.h"

#include <gtest/gtest.h>

#include <vector>

namespace nucleus::server {
namespace {

TokenLogprob entry(int32_t token, float logprob) {
  TokenLogprob lp;
  lp.token = token;
  lp.logprob = logprob;
  return lp;
}

ChoiceState with_logprobs(std::vector<float> lps) {
  ChoiceState c;
  for (float lp : lps) c.logprobs.push_back(entry(1, lp));
  return c;
}

ResponseShape shape_of(int n, int best_of) {
  ResponseShape shape;
  shape.n = n;
  shape.best_of = best_of;
  return shape;
}

TEST(Choices, WithoutBestOfChoiceIIsCandidateI) {
  const ResponseShape shape = shape_of(2, 0);
  const std::vector<ChoiceState> candidates(4);
  EXPECT_EQ(output_count(shape, 4), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pick_choice(shape, candidates, i), static_cast<size_t>(i));
}

TEST(Choices, BestOfKeepsTheHighestMeanLogprobPerPrompt) {
  // Two prompts, best_of 3, n 1: candidates 0..2 answer prompt 0, 3..5 prompt 1.
  const ResponseShape shape = shape_of(1, 3);
  const std::vector<ChoiceState> candidates = {
      with_logprobs({-1.0f, -3.0f}),                     // mean -2
      with_logprobs({-0.5f}),                            // mean -0.5: best of prompt 0
      with_logprobs({-1.0f}),        with_logprobs({}),  // no tokens: ranked last
      with_logprobs({-4.0f, -2.0f}),                     // mean -3
      with_logprobs({-2.0f, -2.0f}),                     // mean -2: best of prompt 1
  };
  EXPECT_EQ(output_count(shape, 6), 2);
  EXPECT_EQ(pick_choice(shape, candidates, 0), 1u);
  EXPECT_EQ(pick_choice(shape, candidates, 1), 5u);
}

TEST(Choices, BestOfTiesKeepTheEarlierCandidate) {
  const ResponseShape shape = shape_of(2, 3);
  const std::vector<ChoiceState> candidates = {with_logprobs({-2.0f}), with_logprobs({-1.0f}), with_logprobs({-1.0f})};
  EXPECT_EQ(output_count(shape, 3), 2);
  EXPECT_EQ(pick_choice(shape, candidates, 0), 1u);
  EXPECT_EQ(pick_choice(shape, candidates, 1), 2u);
}

TEST(Choices, CollectJoinsTextAndLogprobsAndKeepsTheFinishingDelta) {
  ChoiceState c;
  SequenceDelta first;
  first.text = std::string("Hel");
  first.logprobs = {entry(1, -0.5f)};
  c.collect(first);
  SequenceDelta last;
  last.text = std::string("lo");
  last.logprobs = {entry(2, -0.25f)};
  last.finish = FinishReason::kStop;
  last.stop_reason = std::string("!");
  last.beam_score = -0.4;
  last.cumulative_logprob = -0.75;
  c.collect(last);
  EXPECT_EQ(c.text, "Hello");
  ASSERT_EQ(c.logprobs.size(), 2u);
  EXPECT_EQ(c.logprobs[1].token, 2);
  EXPECT_EQ(c.finish, FinishReason::kStop);
  EXPECT_EQ(c.last.stop_reason, "!");
  EXPECT_EQ(c.beam_score, -0.4);
  EXPECT_EQ(c.cumulative_logprob, -0.75);
}

}  // namespace
}  // namespace nucleus::server

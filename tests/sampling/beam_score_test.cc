// sampling/beam_score.h on hand-computed tables: candidates (log_softmax, order,
// ties, ranks, masked tokens), the length-penalised score and the three
// early-stopping rules.
#include "sampling/beam_score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nucleus::sampling {
namespace {

TEST(BeamCandidates, LogSoftmaxTopKDescendingWithRanks) {
  // probabilities 0.1, 0.2, 0.3, 0.4 as logits
  const std::vector<float> row = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  std::vector<BeamCandidate> out;
  beam_candidates(row.data(), 4, 3, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].token, 3);
  EXPECT_EQ(out[1].token, 2);
  EXPECT_EQ(out[2].token, 1);
  EXPECT_NEAR(out[0].logprob, std::log(0.4), 1e-6);
  EXPECT_NEAR(out[2].logprob, std::log(0.2), 1e-6);
  EXPECT_EQ(out[0].rank, 1);
  EXPECT_EQ(out[2].rank, 3);
  beam_candidates(row.data(), 4, 10, out);  // k beyond the vocabulary
  EXPECT_EQ(out.size(), 4u);
}

TEST(BeamCandidates, TiesGoToTheLowerIdAndShareTheirRank) {
  const std::vector<float> row = {1.0f, 2.0f, 2.0f, 0.5f, 2.0f};
  std::vector<BeamCandidate> out;
  beam_candidates(row.data(), 5, 2, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token, 1);
  EXPECT_EQ(out[1].token, 2);
  // Three tokens share the top value: each has rank 3 (ids with logprob >= it),
  // including token 4, which did not make the cut.
  EXPECT_EQ(out[0].rank, 3);
  EXPECT_EQ(out[1].rank, 3);
  beam_candidates(row.data(), 5, 4, out);
  EXPECT_EQ(out[3].token, 0);
  EXPECT_EQ(out[3].rank, 4);
  EXPECT_EQ(out[2].token, 4);
}

TEST(BeamCandidates, MaskedTokensAreNeverCandidates) {
  const std::vector<float> row = {-INFINITY, 0.0f, -INFINITY, 0.0f};
  std::vector<BeamCandidate> out;
  beam_candidates(row.data(), 4, 4, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token, 1);
  EXPECT_EQ(out[1].token, 3);
  EXPECT_NEAR(out[0].logprob, std::log(0.5), 1e-6);
  const std::vector<float> none(4, -INFINITY);
  beam_candidates(none.data(), 4, 4, out);
  EXPECT_TRUE(out.empty());
}

TEST(BeamScore, CumulativeOverLengthToThePenalty) {
  EXPECT_DOUBLE_EQ(beam_score(-6.0, 3, 1.0f), -2.0);
  EXPECT_DOUBLE_EQ(beam_score(-6.0, 4, 0.0f), -6.0);
  EXPECT_DOUBLE_EQ(beam_score(-6.0, 4, 2.0f), -6.0 / 16);
  EXPECT_DOUBLE_EQ(beam_score(-6.0, 4, -1.0f), -24.0);
}

TEST(BeamStopping, TheThreeRules) {
  StopQuery q;
  q.length_penalty = 1.0f;
  q.worst_finished_score = -1.0;
  q.best_running_cum = -8.0;  // score now -8 / 4 = -2: worse than the finished
  q.best_running_length = 4;
  q.max_length = 16;          // but -8 / 16 = -0.5 could still beat it
  q.mode = EarlyStopping::kWhenComplete;
  EXPECT_TRUE(beam_search_can_stop(q));
  q.mode = EarlyStopping::kHeuristic;
  EXPECT_TRUE(beam_search_can_stop(q));
  q.mode = EarlyStopping::kNever;
  EXPECT_FALSE(beam_search_can_stop(q));
  q.max_length = 6;  // -8 / 6 = -1.33: can no longer reach -1
  EXPECT_TRUE(beam_search_can_stop(q));
  // A penalty <= 0 favours short candidates: the current score bounds the future.
  q.length_penalty = 0.0f;
  q.max_length = 1000;
  q.worst_finished_score = -7.0;  // -8 now, and only lower later
  EXPECT_TRUE(beam_search_can_stop(q));
  q.worst_finished_score = -9.0;
  EXPECT_FALSE(beam_search_can_stop(q));
}

}  // namespace
}  // namespace nucleus::sampling

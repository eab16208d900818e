// A row's draws depend only on its own logits, parameters, seed and position:
// identical alone, inside batches of 1..64 random other rows in random orders, and
// with 1 or 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/thread_pool.h"
#include "sampling/sampler.h"

namespace nucleus::sampling {
namespace {

constexpr int64_t kVocab = 3000;
constexpr int kSteps = 12;

std::vector<float> random_logits(std::mt19937& rng, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> l(kVocab);
  for (float& x : l) x = normal(rng);
  return l;
}

SamplingParams random_params(std::mt19937& rng) {
  SamplingParams p;
  auto coin = [&] { return rng() % 2 == 0; };
  p.temperature = (rng() % 5 == 0) ? 0.0f : 0.2f + 0.3f * static_cast<float>(rng() % 6);
  if (coin()) p.top_k = 1 + static_cast<int32_t>(rng() % 200);
  if (coin()) p.top_p = 0.5f + 0.1f * static_cast<float>(rng() % 5);
  if (coin()) p.min_p = 0.01f * static_cast<float>(rng() % 10);
  if (rng() % 4 == 0) p.typical_p = 0.6f + 0.1f * static_cast<float>(rng() % 4);
  if (coin()) p.repetition_penalty = 1.1f, p.frequency_penalty = 0.3f, p.presence_penalty = -0.2f;
  if (coin()) p.logit_bias = {{static_cast<int32_t>(rng() % kVocab), 5.0f}};
  p.logprobs = static_cast<int32_t>(rng() % 22) - 1;
  p.logprobs_mode = coin() ? LogprobsMode::kRaw : LogprobsMode::kProcessed;
  return p;
}

void expect_same(const RowResult& a, const RowResult& b) {
  ASSERT_EQ(a.token_id, b.token_id);
  ASSERT_EQ(std::memcmp(&a.logprob, &b.logprob, sizeof a.logprob), 0);
  ASSERT_EQ(a.rank, b.rank);
  ASSERT_EQ(a.num_top, b.num_top);
  for (int j = 0; j < a.num_top; ++j) {
    ASSERT_EQ(a.top[j].token_id, b.top[j].token_id);
    ASSERT_EQ(std::memcmp(&a.top[j].logprob, &b.top[j].logprob, sizeof(float)), 0);
  }
  ASSERT_EQ(a.flags, b.flags);
}

struct Target {
  SamplingParams params;
  PenaltyState penalties;
  std::vector<std::vector<float>> logits;  // [kSteps][kVocab]
};

Target make_target() {
  std::mt19937 rng(123);
  Target t;
  t.params.temperature = 0.9f;
  t.params.top_k = 400;
  t.params.top_p = 0.95f;
  t.params.min_p = 0.001f;
  t.params.repetition_penalty = 1.2f;
  t.params.frequency_penalty = 0.4f;
  t.params.logprobs = 5;
  t.params.logprobs_mode = LogprobsMode::kProcessed;
  const std::vector<int32_t> prompt = {1, 2, 3, 50, 60};
  t.penalties = PenaltyState(prompt);
  for (int s = 0; s < kSteps; ++s) t.logits.push_back(random_logits(rng, 2.5f));
  return t;
}

// Runs the target's kSteps draws; each step puts it in a batch built by `make_batch`.
template <typename MakeBatch>
std::vector<RowResult> run_target(const Target& t, Sampler& sampler, MakeBatch make_batch) {
  PenaltyState state = t.penalties;
  std::vector<RowResult> out;
  for (int step = 0; step < kSteps; ++step) {
    RowInput target;
    target.params = &t.params;
    target.penalties = &state;
    target.seed = 0xC0FFEE;
    target.seq_index = 1;
    target.position = 5 + step;
    target.num_output_tokens = step;
    std::vector<float> batch;
    std::vector<RowInput> inputs;
    const size_t where = make_batch(step, target, t.logits[step], batch, inputs);
    std::vector<RowResult> results(inputs.size());
    sampler.sample(batch.data(), static_cast<int64_t>(inputs.size()), kVocab, inputs, results);
    out.push_back(results[where]);
    state.accept(results[where].token_id);
  }
  return out;
}

TEST(SeedStability, RowIsIndependentOfBatchOrderAndThreads) {
  const Target t = make_target();
  Sampler alone_sampler;
  const std::vector<RowResult> alone =
      run_target(t, alone_sampler, [](int, const RowInput& target, const std::vector<float>& logits,
                                      std::vector<float>& batch, std::vector<RowInput>& inputs) {
        batch = logits;
        inputs = {target};
        return size_t{0};
      });

  // Other rows: random parameters, logits, penalty states, seeds and positions.
  std::mt19937 rng(77);
  std::vector<SamplingParams> other_params(64);
  std::vector<PenaltyState> other_states(64);
  for (int i = 0; i < 64; ++i) {
    other_params[i] = random_params(rng);
    for (int k = 0; k < 10; ++k) other_states[i].accept(static_cast<int32_t>(rng() % kVocab));
  }

  int checked = 0;
  for (const int threads : {1, 2}) {
    kernels::ThreadPool pool(threads);
    Sampler sampler(&pool);
    for (int trial = 0; trial < 6; ++trial) {
      const std::vector<RowResult> batched =
          run_target(t, sampler, [&](int, const RowInput& target, const std::vector<float>& logits,
                                     std::vector<float>& batch, std::vector<RowInput>& inputs) {
            const int size = 1 + static_cast<int>(rng() % 64);  // batch of 1..64 rows
            const size_t where = rng() % size;
            inputs.clear();
            batch.clear();
            for (int r = 0; r < size; ++r) {
              if (static_cast<size_t>(r) == where) {
                inputs.push_back(target);
                batch.insert(batch.end(), logits.begin(), logits.end());
                continue;
              }
              const int o = static_cast<int>(rng() % 64);
              RowInput in;
              in.params = &other_params[o];
              in.penalties = &other_states[o];
              in.seed = rng();
              in.position = rng() % 1000;
              const std::vector<float> l = random_logits(rng, 1.0f + static_cast<float>(rng() % 4));
              inputs.push_back(in);
              batch.insert(batch.end(), l.begin(), l.end());
            }
            return where;
          });
      for (int step = 0; step < kSteps; ++step) {
        SCOPED_TRACE(testing::Message() << "threads " << threads << " trial " << trial << " step " << step);
        expect_same(batched[step], alone[step]);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * 6 * kSteps);
}

// The noise is addressed by (seed, seq_index, position): changing any of them changes the draws,
// and a larger batch of identical rows at different positions is not a copy of one draw.
TEST(SeedStability, KeyFieldsEachChangeTheDraws) {
  std::mt19937 rng(5);
  const std::vector<float> logits = random_logits(rng, 0.5f);  // flat: many likely tokens
  SamplingParams p;
  Sampler sampler;
  auto draws = [&](uint64_t seed, uint32_t seq_index, int64_t first_position) {
    std::vector<int32_t> tokens;
    for (int i = 0; i < 16; ++i) {
      std::vector<float> row = logits;
      RowInput in;
      in.params = &p;
      in.seed = seed;
      in.seq_index = seq_index;
      in.position = first_position + i;
      RowResult r;
      sampler.sample(row.data(), 1, kVocab, {&in, 1}, {&r, 1});
      tokens.push_back(r.token_id);
    }
    return tokens;
  };
  const std::vector<int32_t> base = draws(1, 0, 0);
  EXPECT_EQ(draws(1, 0, 0), base);  // reproducible
  EXPECT_NE(draws(2, 0, 0), base);
  EXPECT_NE(draws(1, 1, 0), base);
  EXPECT_NE(draws(1, 0, 1), base);
  std::vector<int32_t> distinct = base;
  std::sort(distinct.begin(), distinct.end());
  EXPECT_GT(std::unique(distinct.begin(), distinct.end()) - distinct.begin(), 8);
}

}  // namespace
}  // namespace nucleus::sampling

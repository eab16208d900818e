// Prompt logprobs (GenerationRequest::prompt_logprobs, engine/prompt_logprobs.h)
// on the tiny model: every entry is checked against a log-softmax computed here
// in double from Model::forward's logits of the whole prompt, so nothing is
// compared with the engine's own earlier output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "engine/engine.h"
#include "engine/prompt_logprobs.h"
#include "tests/common/tiny_engine.h"
#include "tests/model/model_test_util.h"

namespace nucleus {
namespace {

struct Collected {
  std::vector<TokenLogprob> prompt;  // from the one event that carries them
  int events_with_prompt = 0;
  std::vector<int32_t> tokens;       // sequence 0
  std::vector<TokenLogprob> logprobs;  // sequence 0
  Usage usage;
  std::string error;
};

// expect_prompt: the request asked for prompt logprobs of a prompt of 2+ tokens.
Collected collect(RequestHandle& handle, bool expect_prompt = false) {
  Collected out;
  while (true) {
    auto event = handle.next(std::chrono::milliseconds(60000));
    if (!event) {
      ADD_FAILURE() << "no event within 60 s";
      return out;
    }
    if (!event->prompt_logprobs.empty()) {
      ++out.events_with_prompt;
      out.prompt = event->prompt_logprobs;
    }
    for (const SequenceDelta& d : event->deltas) {
      if (d.index != 0) continue;
      if (expect_prompt && !d.tokens.empty() && out.tokens.empty()) {
        // The prompt's entries come no later than the first token.
        EXPECT_EQ(out.events_with_prompt, 1) << "the first token arrived before the prompt logprobs";
      }
      out.tokens.insert(out.tokens.end(), d.tokens.begin(), d.tokens.end());
      out.logprobs.insert(out.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
    }
    if (!event->error.empty()) out.error = event->error;
    if (event->done) {
      out.usage = event->usage;
      return out;
    }
  }
}

// log_softmax of one row, plainly, in double.
std::vector<double> log_softmax(const float* row, int vocab) {
  double max = -INFINITY;
  for (int i = 0; i < vocab; ++i) max = std::max(max, double(row[i]));
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - max);
  std::vector<double> out(vocab);
  for (int i = 0; i < vocab; ++i) out[i] = double(row[i]) - max - std::log(sum);
  return out;
}

class PromptLogprobsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { lm_ = new test::TinyLm(test::make_tiny_lm()); }
  static void TearDownTestSuite() {
    delete lm_;
    lm_ = nullptr;
  }

  // Logits of every prompt position from Model::forward (no engine running).
  static std::vector<float> reference_logits(const std::vector<int32_t>& prompt) {
    kernels::ThreadPool pool(1);
    const kernels::Context ctx{kernels::Device::kCpu, &pool};
    KvStorage kv(lm_->model->config(), 64, 16, kernels::Device::kCpu);
    return test::run_chunked(*lm_->model, kv, ctx, prompt, prompt.size());
  }

  static GenerationRequest request(std::vector<int32_t> prompt, int prompt_logprobs) {
    GenerationRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = 4;
    r.params.temperature = 0;
    r.params.logprobs = 0;  // raw logprob of each generated token
    r.params.ignore_eos = true;
    r.prompt_logprobs = prompt_logprobs;
    return r;
  }

  static void expect_matches_reference(const std::vector<TokenLogprob>& got, const std::vector<int32_t>& prompt,
                                       const std::vector<float>& logits, int top_n) {
    const int vocab = lm_->vocab;
    ASSERT_EQ(got.size(), prompt.size() - 1);
    for (size_t p = 0; p + 1 < prompt.size(); ++p) {
      const float* row = logits.data() + p * vocab;
      const std::vector<double> ls = log_softmax(row, vocab);
      const int32_t target = prompt[p + 1];
      EXPECT_EQ(got[p].token, target) << "position " << p;
      EXPECT_NEAR(got[p].logprob, ls[target], 1e-5) << "position " << p;
      const int rank = static_cast<int>(std::count_if(row, row + vocab, [&](float v) { return v >= row[target]; }));
      EXPECT_EQ(got[p].rank, rank) << "position " << p;
      std::vector<int> ids(vocab);
      std::iota(ids.begin(), ids.end(), 0);
      std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return row[a] > row[b]; });
      ASSERT_EQ(got[p].top.size(), static_cast<size_t>(top_n)) << "position " << p;
      for (int k = 0; k < top_n; ++k) {
        EXPECT_EQ(got[p].top[k].token, ids[k]) << "position " << p << " alternative " << k;
        EXPECT_NEAR(got[p].top[k].logprob, ls[ids[k]], 1e-5) << "position " << p << " alternative " << k;
      }
    }
  }

  static test::TinyLm* lm_;
};
test::TinyLm* PromptLogprobsTest::lm_ = nullptr;

TEST_F(PromptLogprobsTest, EachEntryIsTheLogSoftmaxOfThePositionBefore) {
  const std::vector<int32_t> prompt = test::tiny_prompt(75, 11);
  const std::vector<float> logits = reference_logits(prompt);
  EngineOptions o = test::tiny_options(*lm_, 64);
  o.max_batched_tokens = 16;  // the prompt arrives in 5 chunks
  Collected plain, with;
  {
    Engine engine(*lm_->model, *lm_->tokenizer, o);
    plain = collect(*engine.submit(request(prompt, -1)));  // fills the prefix cache
    with = collect(*engine.submit(request(prompt, 3)), true);
  }
  EXPECT_TRUE(plain.prompt.empty());
  EXPECT_EQ(plain.events_with_prompt, 0);
  EXPECT_EQ(with.events_with_prompt, 1);
  // Every position had to be computed: no prefix-cache reuse for this request.
  EXPECT_EQ(with.usage.cached_prompt_tokens, 0);
  expect_matches_reference(with.prompt, prompt, logits, 3);
  // The generated tokens are the same as without, and the first one's raw
  // logprob is the log-softmax of the last prompt position.
  EXPECT_EQ(with.tokens, plain.tokens);
  ASSERT_FALSE(with.logprobs.empty());
  const std::vector<double> last = log_softmax(logits.data() + (prompt.size() - 1) * lm_->vocab, lm_->vocab);
  EXPECT_NEAR(with.logprobs[0].logprob, last[with.tokens[0]], 1e-5);
}

TEST_F(PromptLogprobsTest, SurvivePreemptionAndArriveOnceWithNSequences) {
  const std::vector<int32_t> prompt = test::tiny_prompt(60, 12);
  const std::vector<float> logits = reference_logits(prompt);
  // 6 blocks of 16 tokens: the other requests (48-token prompts, 20 tokens
  // each) and this one (60 + 20, twice) cannot all fit, so sequences are preempted.
  EngineOptions o = test::tiny_options(*lm_, 6);
  o.max_batched_tokens = 16;
  Collected with;
  int64_t preemptions = 0;
  {
    Engine engine(*lm_->model, *lm_->tokenizer, o);
    std::vector<std::unique_ptr<RequestHandle>> others;
    for (int i = 0; i < 3; ++i) {
      GenerationRequest r = request(test::tiny_prompt(48, 20 + i), -1);
      r.max_tokens = 20;
      others.push_back(engine.submit(r));
    }
    GenerationRequest r = request(prompt, 0);
    r.n = 2;
    r.max_tokens = 20;
    r.params.temperature = 1.0f;
    r.params.has_seed = true;
    r.params.seed = 5;
    with = collect(*engine.submit(r), true);
    for (auto& h : others) collect(*h);
    preemptions = engine.stats().preemptions;
  }
  std::printf("  6-block cache: %ld preemptions\n", static_cast<long>(preemptions));
  EXPECT_GT(preemptions, 0);
  EXPECT_TRUE(with.error.empty()) << with.error;
  EXPECT_EQ(with.events_with_prompt, 1);
  expect_matches_reference(with.prompt, prompt, logits, 0);
}

TEST_F(PromptLogprobsTest, OneTokenPromptHasNoEntriesAndBadValuesAreRefused) {
  Engine engine(*lm_->model, *lm_->tokenizer, test::tiny_options(*lm_, 64));
  const Collected one = collect(*engine.submit(request({65}, 2)));
  EXPECT_TRUE(one.prompt.empty());
  EXPECT_EQ(one.tokens.size(), 4u);
  for (int bad : {-2, sampling::kMaxLogprobs + 1}) {
    try {
      engine.submit(request({65, 66}, bad));
      ADD_FAILURE() << "prompt_logprobs " << bad << " was accepted";
    } catch (const InvalidRequest& e) {
      EXPECT_EQ(e.param(), "prompt_logprobs");
    }
  }
}

TEST(PromptTokenLogprob, NonFiniteLogitsAreHandledAsTheSamplerDoes) {
  std::vector<float> row = {1.0f, NAN, 3.0f, INFINITY};
  const TokenLogprob lp = prompt_token_logprob(row, 2, 2);
  // NaN -> -inf (probability 0); +inf -> the largest float, which takes all the mass.
  EXPECT_EQ(lp.rank, 2);
  EXPECT_LT(lp.logprob, -1e30f);
  ASSERT_EQ(lp.top.size(), 2u);
  EXPECT_EQ(lp.top[0].token, 3);
  EXPECT_EQ(lp.top[0].logprob, 0.0f);
  EXPECT_EQ(lp.top[1].token, 2);
}

}  // namespace
}  // namespace nucleus

// JSON mode (ResponseFormat::kJsonObject) end to end on the tiny random model:
// whatever the weights prefer, every finished output must parse as one JSON
// object by nlohmann::json (an independent parser), sampled or greedy, n > 1,
// under preemption; and JsonTokenMask must allow exactly the tokens whose bytes
// the recognizer accepts (checked here token by token, without the sorted walk).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/json_token_mask.h"
#include "tests/common/tiny_engine.h"

namespace nucleus {
namespace {

class JsonModeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { lm_ = new test::TinyLm(test::make_tiny_lm()); }
  static void TearDownTestSuite() {
    delete lm_;
    lm_ = nullptr;
  }
  static GenerationRequest json_request(uint64_t seed, float temperature) {
    GenerationRequest r;
    r.prompt = test::tiny_prompt(12, static_cast<uint32_t>(seed));
    r.max_tokens = 300;
    r.params.temperature = temperature;
    r.params.has_seed = true;
    r.params.seed = seed;
    r.response_format = ResponseFormat::kJsonObject;
    // The random model rarely closes what it opens; favouring the closing
    // brackets a little lets most objects finish within max_tokens.
    for (const char* close : {"}", "]"}) r.params.logit_bias.push_back({lm_->tokenizer->token_to_id(close), 4.0f});
    return r;
  }
  static test::TinyLm* lm_;
};
test::TinyLm* JsonModeTest::lm_ = nullptr;

TEST_F(JsonModeTest, EveryFinishedOutputIsOneJsonObject) {
  EngineOptions o = test::tiny_options(*lm_, 24);  // small: concurrent requests preempt each other
  Engine engine(*lm_->model, *lm_->tokenizer, o);
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (int i = 0; i < 16; ++i) {
    GenerationRequest r = json_request(100 + i, i % 4 == 0 ? 0.0f : 1.0f);
    if (i % 5 == 1) r.n = 2;
    if (i % 3 == 2) r.speculation = Speculation::kNgram;  // ignored in JSON mode, must not break it
    handles.push_back(engine.submit(r));
  }
  int finished = 0, truncated = 0;
  for (auto& h : handles) {
    const test::Drained out = test::drain(*h);
    ASSERT_TRUE(out.error.empty()) << out.error;
    for (const auto& [index, text] : out.text) {
      if (out.finish.at(index) == FinishReason::kLength) {
        ++truncated;
        continue;
      }
      ASSERT_EQ(out.finish.at(index), FinishReason::kStop);
      ++finished;
      ASSERT_TRUE(nlohmann::json::accept(text)) << "not JSON: " << text;
      EXPECT_TRUE(nlohmann::json::parse(text).is_object()) << text;
    }
  }
  std::printf("  %d outputs closed their object and parse as JSON; %d hit max_tokens first\n", finished, truncated);
  EXPECT_GE(finished, 10);
  EXPECT_GT(engine.stats().preemptions, 0);
}

TEST_F(JsonModeTest, MaskAllowsExactlyTheTokensTheRecognizerAccepts) {
  const Tokenizer& tok = *lm_->tokenizer;
  JsonTokenMask masker(tok, lm_->vocab);
  std::vector<uint8_t> mask;
  for (const char* prefix : {"", " ", "{", "{\"a", "{\"a\":", "{\"a\": [1", "{\"a\": [1, tr", "{\"a\":\"\\", "{\"x\":{}}",
                             "{\"n\": -0.5e"}) {
    sampling::JsonState state;
    ASSERT_TRUE(state.step(std::string(prefix))) << prefix;
    masker.fill(state, mask);
    int allowed = 0;
    for (int32_t id = 0; id < lm_->vocab; ++id) {
      bool expected;
      if (tok.is_end_of_generation(id)) {
        expected = state.complete();
      } else if (tok.is_special(id)) {
        expected = false;
      } else {
        sampling::JsonState s = state;
        expected = !state.complete() && s.step(tok.token_to_piece(id));
      }
      EXPECT_EQ(mask[static_cast<size_t>(id)] != 0, expected) << "prefix '" << prefix << "' token " << id << " '"
                                                              << tok.token_to_piece(id) << "'";
      allowed += mask[static_cast<size_t>(id)];
    }
    EXPECT_GT(allowed, 0) << prefix;
  }
}

TEST_F(JsonModeTest, RefusedWithBeamSearchMinTokensAndIgnoreEos) {
  Engine engine(*lm_->model, *lm_->tokenizer, test::tiny_options(*lm_, 64));
  GenerationRequest beam = json_request(1, 0.0f);
  beam.beam = BeamSearchOptions{2};
  beam.n = 2;
  GenerationRequest min = json_request(1, 1.0f);
  min.params.min_tokens = 3;
  GenerationRequest no_eos = json_request(1, 1.0f);
  no_eos.params.ignore_eos = true;
  for (auto [r, param] : {std::pair{beam, "response_format"}, std::pair{min, "min_tokens"},
                          std::pair{no_eos, "ignore_eos"}}) {
    try {
      engine.submit(r);
      ADD_FAILURE() << param << ": accepted";
    } catch (const InvalidRequest& e) {
      EXPECT_EQ(e.param(), param);
    }
  }
}

}  // namespace
}  // namespace nucleus

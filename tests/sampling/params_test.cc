#include "sampling/params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace nucleus::sampling {
namespace {

// Expects validate() to throw a message that contains every fragment.
void expect_invalid(const std::function<void(SamplingParams&)>& edit, std::initializer_list<std::string> fragments,
                    int64_t vocab = 0) {
  SamplingParams p;
  edit(p);
  try {
    p.validate(vocab);
    ADD_FAILURE() << "no error for " << *fragments.begin();
  } catch (const std::invalid_argument& e) {
    for (const std::string& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(SamplingParams, DefaultsAreValid) { EXPECT_NO_THROW(SamplingParams{}.validate(100)); }

TEST(SamplingParams, RangesNameTheParameter) {
  expect_invalid([](SamplingParams& p) { p.temperature = 2.5f; }, {"temperature", "[0, 2]", "2.5"});
  expect_invalid([](SamplingParams& p) { p.temperature = -0.1f; }, {"temperature"});
  expect_invalid([](SamplingParams& p) { p.temperature = NAN; }, {"temperature"});
  expect_invalid([](SamplingParams& p) { p.top_k = -2; }, {"top_k", "-2"});
  expect_invalid([](SamplingParams& p) { p.top_p = 0.0f; }, {"top_p", "(0, 1]"});
  expect_invalid([](SamplingParams& p) { p.top_p = 1.5f; }, {"top_p"});
  expect_invalid([](SamplingParams& p) { p.min_p = 1.5f; }, {"min_p", "[0, 1]"});
  expect_invalid([](SamplingParams& p) { p.typical_p = 0.0f; }, {"typical_p"});
  expect_invalid([](SamplingParams& p) { p.presence_penalty = 2.5f; }, {"presence_penalty", "[-2, 2]"});
  expect_invalid([](SamplingParams& p) { p.frequency_penalty = -3.0f; }, {"frequency_penalty"});
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = 0.0f; }, {"repetition_penalty", "(0, 1e+06]"});
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = 1e7f; }, {"repetition_penalty", "(0, 1e+06]", "1e+07"});
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{3, 150.0f}}; }, {"logit_bias", "[-100, 100]", "token 3"});
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{-1, 1.0f}}; }, {"logit_bias", "-1"});
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{10, 1.0f}}; }, {"logit_bias", "10", "[0, 10)"}, 10);
  expect_invalid([](SamplingParams& p) { p.logprobs = 21; }, {"logprobs", "20"});
  expect_invalid([](SamplingParams& p) { p.min_tokens = -1; }, {"min_tokens"});
  expect_invalid([](SamplingParams& p) { p.stop_token_ids = {5, 99}; }, {"stop_token_ids", "99"}, 50);
  expect_invalid([](SamplingParams& p) { p.allowed_token_ids = {-4}; }, {"allowed_token_ids", "-4"});
  expect_invalid([](SamplingParams& p) { p.bad_token_ids = {50}; }, {"bad_token_ids", "50"}, 50);
}

TEST(SamplingParams, BoundariesAreAccepted) {
  SamplingParams p;
  p.temperature = 2.0f;
  p.top_k = -1;
  p.top_p = 1.0f;
  p.min_p = 1.0f;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{0, -100.0f}, {9, 100.0f}};
  p.logprobs = 20;
  EXPECT_NO_THROW(p.validate(10));
}

TEST(SamplingParams, GreedyMeansTemperatureZeroOrTopKOne) {
  SamplingParams p;
  EXPECT_FALSE(p.greedy());
  p.temperature = 0.0f;
  EXPECT_TRUE(p.greedy());
  p.temperature = 0.7f;
  p.top_k = 1;
  EXPECT_TRUE(p.greedy());
}

TEST(SamplingParams, EntropySeedsDiffer) {
  // Two 64-bit draws from the system's entropy colliding would be a broken source.
  EXPECT_NE(draw_entropy_seed(), draw_entropy_seed());
}

}  // namespace
}  // namespace nucleus::sampling

// Structured output (GenerationRequest::grammar) end to end on the tiny random
// model: every finished output is in the grammar's language, judged by
// PCRE2 (an independent matcher), sampled and greedy, n > 1, under
// preemption; n-gram speculation gives bitwise the outputs of plain decoding
// while its drafts are verified under the same masks; and the combinations the
// engine cannot serve are refused naming the client's parameter.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <gtest/gtest.h>
#include <pcre2.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "sampling/grammar/grammar_cache.h"
#include "tests/common/tiny_engine.h"

namespace nucleus {
namespace {

// Whether `text` matches `pattern` whole, as PCRE2 (not our grammar engine) sees it.
bool full_match(const std::string& pattern, const std::string& text) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), PCRE2_ZERO_TERMINATED,
                                 PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &error, &offset, nullptr);
  if (!re) return false;
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(re, nullptr);
  const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, match, nullptr);
  pcre2_match_data_free(match);
  pcre2_code_free(re);
  return rc >= 0;
}

class StructuredOutputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { lm_ = new test::TinyLm(test::make_tiny_lm()); }
  static void TearDownTestSuite() {
    delete lm_;
    lm_ = nullptr;
  }
  static GenerationRequest request(const std::string& regex, uint64_t seed, float temperature) {
    GenerationRequest r;
    r.prompt = lm_->tokenizer->encode("the cat and the dog and the cat and the dog", {.add_special = false});
    r.max_tokens = 80;
    r.params.temperature = temperature;
    r.params.has_seed = true;
    r.params.seed = seed;
    r.grammar = grammar::compile_grammar(grammar::GrammarKind::kRegex, regex);
    r.grammar_param = "structured_outputs";
    return r;
  }
  static test::TinyLm* lm_;
};
test::TinyLm* StructuredOutputTest::lm_ = nullptr;

TEST_F(StructuredOutputTest, EveryFinishedOutputMatchesTheRegex) {
  const std::string pattern = "(yes|no)-[0-9]{2,5}( [a-z]{1,8})?";
  Engine engine(*lm_->model, *lm_->tokenizer, test::tiny_options(*lm_, 20));  // small: requests preempt each other
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (int i = 0; i < 12; ++i) {
    GenerationRequest r = request(pattern, 50 + i, i % 4 == 0 ? 0.0f : 1.0f);
    if (i % 3 == 1) r.n = 3;
    if (i % 4 == 2) r.speculation = Speculation::kNgram;
    handles.push_back(engine.submit(r));
  }
  int matched = 0;
  for (auto& h : handles) {
    const test::Drained out = test::drain(*h);
    ASSERT_TRUE(out.error.empty()) << out.error;
    for (const auto& [index, text] : out.text) {
      ASSERT_EQ(out.finish.at(index), FinishReason::kStop) << text;
      EXPECT_TRUE(full_match(pattern, text)) << "'" << text << "' does not match " << pattern;
      ++matched;
    }
  }
  std::printf("  %d outputs, all matching %s\n", matched, pattern.c_str());
  EXPECT_EQ(matched, 20);
  EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(StructuredOutputTest, SpeculationUnderAGrammarGivesThePlainOutputs) {
  // Repetitive text the n-gram drafter can predict, and a grammar that allows it.
  const std::string pattern = "((the|a) (cat|dog) (and )?){2,12}";
  Engine engine(*lm_->model, *lm_->tokenizer, test::tiny_options(*lm_, 64));
  for (int i = 0; i < 6; ++i) {
    GenerationRequest plain = request(pattern, 7 + i, i % 2 == 0 ? 0.0f : 0.7f);
    plain.speculation = Speculation::kOff;
    GenerationRequest speculating = plain;
    speculating.speculation = Speculation::kNgram;
    const test::Drained a = test::drain(*engine.submit(plain));
    const test::Drained b = test::drain(*engine.submit(speculating));
    ASSERT_TRUE(a.error.empty() && b.error.empty()) << a.error << b.error;
    EXPECT_EQ(a.tokens, b.tokens) << "request " << i;
    EXPECT_TRUE(full_match(pattern, a.text.at(0))) << a.text.at(0);
  }
  const EngineStats stats = engine.stats();
  std::printf("  drafts under the grammar: %lld scored, %lld kept\n", static_cast<long long>(stats.spec_drafted),
              static_cast<long long>(stats.spec_accepted));
  EXPECT_GT(stats.spec_accepted, 0) << "no draft was ever kept: the speculative path was not exercised";
}

TEST_F(StructuredOutputTest, RefusedWithBeamSearchMinTokensAndJsonObjectNamingTheParameter) {
  Engine engine(*lm_->model, *lm_->tokenizer, test::tiny_options(*lm_, 16));
  auto refused_param = [&](GenerationRequest r) -> std::string {
    try {
      engine.submit(r);
    } catch (const InvalidRequest& e) {
      return e.param();
    }
    return "";
  };
  GenerationRequest beam = request("a+", 1, 0.0f);
  beam.beam = BeamSearchOptions{.width = 2};
  EXPECT_EQ(refused_param(beam), "structured_outputs");
  GenerationRequest min_tokens = request("a+", 1, 0.0f);
  min_tokens.params.min_tokens = 3;
  EXPECT_EQ(refused_param(min_tokens), "min_tokens");
  GenerationRequest ignore_eos = request("a+", 1, 0.0f);  // EOS is how a finished grammar ends
  ignore_eos.params.ignore_eos = true;
  EXPECT_EQ(refused_param(ignore_eos), "ignore_eos");
  GenerationRequest both = request("a+", 1, 0.0f);
  both.response_format = ResponseFormat::kJsonObject;
  EXPECT_EQ(refused_param(both), "structured_outputs");
}

}  // namespace
}  // namespace nucleus

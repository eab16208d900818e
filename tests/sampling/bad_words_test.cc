// vLLM's bad_words: which ids a row bans, from the output's end and the drafts after it.
#include <gtest/gtest.h>

#include "sampling/bad_words.h"

namespace nucleus::sampling {
namespace {

std::vector<int32_t> bans(const SamplingParams& p, std::vector<int32_t> output, std::vector<int32_t> pending = {}) {
  std::vector<int32_t> out;
  append_bad_word_bans(p, output, pending, out);
  return out;
}

TEST(BadWords, OneTokenWordsAlwaysLongerOnesWhereTheOutputEndsWithTheirStart) {
  SamplingParams p;
  p.bad_words_token_ids = {{7}, {1, 2, 3}, {5, 6}};
  EXPECT_EQ(bans(p, {}), (std::vector<int32_t>{7}));
  EXPECT_EQ(bans(p, {9, 1}), (std::vector<int32_t>{7}));         // 1 alone is not the start [1, 2]
  EXPECT_EQ(bans(p, {9, 1, 2}), (std::vector<int32_t>{7, 3}));   // ... 1 2 -> 3 would complete the word
  EXPECT_EQ(bans(p, {1, 2, 5}), (std::vector<int32_t>{7, 6}));
  EXPECT_EQ(bans(p, {2}, {}), (std::vector<int32_t>{7}));
  // Drafts count as output after the committed tokens.
  EXPECT_EQ(bans(p, {1}, {2}), (std::vector<int32_t>{7, 3}));
  EXPECT_EQ(bans(p, {}, {1, 2}), (std::vector<int32_t>{7, 3}));
  EXPECT_EQ(bans(p, {1, 2}, {4}), (std::vector<int32_t>{7}));
}

TEST(BadWords, ValidateNamesThemAndTheirIds) {
  SamplingParams p;
  p.bad_words_token_ids = {{1}, {}};
  EXPECT_THROW(p.validate(100), std::invalid_argument);
  p.bad_words_token_ids = {{1, 100}};
  try {
    p.validate(100);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad_words", 0), 0u) << e.what();  // admission names the parameter by it
  }
}

}  // namespace
}  // namespace nucleus::sampling

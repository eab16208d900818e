// <think>...</think> split out of model output. Expectations are worked out by
// hand; the streaming tests feed every text split at every byte and at random
// places and require what split_reasoning gives for the whole text.
#include "text/reasoning_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "text/unicode_utf8.h"

namespace nucleus {
namespace {

void expect_split(std::string_view text, bool started, const std::string& reasoning, const std::string& content) {
  ReasoningSplit split = split_reasoning(text, started);
  EXPECT_EQ(split.reasoning, reasoning) << text;
  EXPECT_EQ(split.content, content) << text;
}

TEST(ReasoningFormat, NamesAsLlamaCpp) {
  EXPECT_EQ(parse_reasoning_format("none"), ReasoningFormat::kNone);
  EXPECT_EQ(parse_reasoning_format("deepseek"), ReasoningFormat::kDeepSeek);
  EXPECT_EQ(parse_reasoning_format("auto"), ReasoningFormat::kDeepSeek);
  EXPECT_EQ(parse_reasoning_format("DeepSeek"), std::nullopt);
  EXPECT_EQ(parse_reasoning_format(""), std::nullopt);
}

TEST(ReasoningSplit, ThinkBlockThenAnswer) {
  expect_split("<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4.", false,
               "The user wants 2+2. That is 4.", "The answer is 4.");
  expect_split("\n<think>a</think>b", false, "a", "b");
}

TEST(ReasoningSplit, PromptAlreadyOpenedTheBlock) {
  // DeepSeek-R1 distills' generation prompt ends with "<think>\n": the output starts inside it.
  expect_split("Let me think.\n</think>\n\n4", true, "Let me think.", "4");
  expect_split("a <think> inside</think>b", true, "a <think> inside", "b");
}

TEST(ReasoningSplit, EmptyBlockOfQwen3WithThinkingOff) {
  expect_split("<think>\n\n</think>\n\nHi there", false, "", "Hi there");
}

TEST(ReasoningSplit, UnclosedBlockIsAllReasoning) {
  expect_split("<think>\nhmm, 17 is prime because", false, "hmm, 17 is prime because", "");
  expect_split("still thinking ", true, "still thinking", "");
}

TEST(ReasoningSplit, NoBlockIsContentAsIs) {
  expect_split("  Hello\n", false, "", "  Hello\n");
  expect_split("Answer: <think>x</think> y", false, "", "Answer: <think>x</think> y");
  expect_split("<thinking>x</thinking>", false, "", "<thinking>x</thinking>");
  expect_split("", false, "", "");
  expect_split("", true, "", "");
}

TEST(ReasoningSplit, OnlyTheFirstCloseEndsTheBlock) {
  expect_split("<think>a</think>b</think>c", false, "a", "b</think>c");
}

TEST(ReasoningSplit, Unicode) {
  expect_split("<think>考虑一下 🤔</think>答案是四。", false, "考虑一下 🤔", "答案是四。");
}

TEST(ReasoningPrompt, EndsInReasoning) {
  EXPECT_TRUE(prompt_ends_in_reasoning("<｜User｜>2+2?<｜Assistant｜><think>\n"));
  EXPECT_TRUE(prompt_ends_in_reasoning("<|im_start|>assistant\n<think>"));
  EXPECT_FALSE(prompt_ends_in_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));  // thinking off
  EXPECT_FALSE(prompt_ends_in_reasoning("<|im_start|>assistant\n"));
  EXPECT_FALSE(prompt_ends_in_reasoning("think>"));
  EXPECT_FALSE(prompt_ends_in_reasoning(""));
}

// ---------------------------------------------------------------- streaming

ReasoningSplit stream(const std::vector<std::string_view>& pieces, bool started, const std::string& what) {
  ReasoningStreamSplitter splitter(started);
  ReasoningSplit out;
  std::string whole;
  for (std::string_view piece : pieces) whole += piece;
  const bool valid_input = unicode::is_valid_utf8(whole);
  for (std::string_view piece : pieces) {
    ReasoningSplit d = splitter.feed(piece);
    out.reasoning += d.reasoning;
    out.content += d.content;
    if (valid_input) {
      EXPECT_TRUE(unicode::is_valid_utf8(d.reasoning)) << what;  // never cut inside a character
    }
  }
  ReasoningSplit d = splitter.finish();
  out.reasoning += d.reasoning;
  out.content += d.content;
  return out;
}

const std::vector<std::string> kCorpus = {
    "<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4.",
    "Let me think.\n</think>\n\n4",
    "<think>\n\n</think>\n\nHi there",
    "<think>\nhmm, 17 is prime because",
    "  Hello\n",
    "Answer: <think>x</think> y",
    "<thinking>x</thinking>",
    "<thi",
    "</thi",
    "<think>a</think>b</think>c",
    "<think>考虑一下 🤔 </th</think>  答案是四。",
    "",
    "   ",
    "\n<think>a <think> b</think>",
};

TEST(ReasoningStream, EverySplitEqualsTheWholeSplit) {
  std::mt19937 rng(99);
  for (bool started : {false, true}) {
    for (const std::string& text : kCorpus) {
      ReasoningSplit whole = split_reasoning(text, started);
      std::string_view t(text);
      for (size_t cut = 0; cut <= t.size(); ++cut) {
        std::string what = "cut " + std::to_string(cut) + (started ? " started: " : ": ") + text;
        ReasoningSplit s = stream({t.substr(0, cut), t.substr(cut)}, started, what);
        EXPECT_EQ(s.reasoning, whole.reasoning) << what;
        EXPECT_EQ(s.content, whole.content) << what;
      }
      std::vector<std::string_view> bytes;
      for (size_t i = 0; i < t.size(); ++i) bytes.push_back(t.substr(i, 1));
      ReasoningSplit s = stream(bytes, started, "bytes: " + text);
      EXPECT_EQ(s.reasoning, whole.reasoning) << "bytes: " << text;
      EXPECT_EQ(s.content, whole.content) << "bytes: " << text;
      for (int round = 0; round < 20; ++round) {
        std::vector<std::string_view> pieces;
        for (size_t at = 0; at < t.size();) {
          size_t n = std::uniform_int_distribution<size_t>(0, 6)(rng);
          pieces.push_back(t.substr(at, n));
          at += n;
        }
        s = stream(pieces, started, "random: " + text);
        EXPECT_EQ(s.reasoning, whole.reasoning) << "random: " << text;
        EXPECT_EQ(s.content, whole.content) << "random: " << text;
      }
    }
  }
}

TEST(ReasoningStream, RandomlyAssembledOutputsStreamAsTheySplit) {
  // Broken UTF-8 too ("\xF3" a lone lead byte, "\x80" a lone continuation): kept as it came.
  const std::vector<std::string> fragments = {"<think>", "</think>", "<", "</",   "<th",   "</thi", ">",    " ",
                                              "\n",      "a",        "é", "🤔", "think", "\xF3",  "\x80", "\t"};
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    int n = std::uniform_int_distribution<int>(1, 10)(rng);
    for (int i = 0; i < n; ++i) text += fragments[std::uniform_int_distribution<size_t>(0, fragments.size() - 1)(rng)];
    std::string_view t(text);
    for (bool started : {false, true}) {
      ReasoningSplit whole = split_reasoning(text, started);
      std::vector<std::string_view> pieces;
      for (size_t at = 0; at < t.size();) {
        size_t len = std::uniform_int_distribution<size_t>(0, 4)(rng);
        pieces.push_back(t.substr(at, len));
        at += len;
      }
      ReasoningSplit s = stream(pieces, started, "assembled: " + text);
      ASSERT_EQ(s.reasoning, whole.reasoning) << "assembled: " << text;
      ASSERT_EQ(s.content, whole.content) << "assembled: " << text;
    }
  }
}

TEST(ReasoningStream, PartsArriveAsSoonAsTheyAreKnown) {
  ReasoningStreamSplitter splitter(/*started_in_reasoning=*/false);
  ReasoningSplit d = splitter.feed("<thi");
  EXPECT_EQ(d.reasoning, "");  // may still be "<think>"
  EXPECT_EQ(d.content, "");
  d = splitter.feed("nk>\nStep one. ");
  EXPECT_EQ(d.reasoning, "Step one.");  // leading newline dropped, trailing space held
  d = splitter.feed("Step two.</th");
  EXPECT_EQ(d.reasoning, " Step two.");  // "</th" may close the block
  d = splitter.feed("ink>\n\nFour");
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "Four");
  d = splitter.feed(" and more ");
  EXPECT_EQ(d.content, " and more ");  // the answer passes through untouched
  d = splitter.finish();
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "");
}

TEST(ReasoningStream, PlainAnswerPassesThroughOnceItCannotBeAThinkTag) {
  ReasoningStreamSplitter splitter(false);
  EXPECT_EQ(splitter.feed("  ").content, "");  // whitespace may precede "<think>"
  EXPECT_EQ(splitter.feed("Hi").content, "  Hi");
  EXPECT_EQ(splitter.feed(" <think>").content, " <think>");
  EXPECT_EQ(splitter.finish().content, "");
}

}  // namespace
}  // namespace nucleus

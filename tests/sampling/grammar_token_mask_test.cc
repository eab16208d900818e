// Token masks against the definition: for states along random walks through
// several grammars, fill() equals checking every token byte by byte with
// GrammarState::allows, end-of-generation exactly when can_end(), special
// tokens never; cached masks equal fresh ones.
#include <gtest/gtest.h>

#include <random>

#include "sampling/grammar/gbnf.h"
#include "sampling/grammar/grammar_cache.h"
#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/regex.h"
#include "sampling/grammar/token_mask.h"
#include "tests/sampling/grammar_test_util.h"

namespace nucleus::grammar {
namespace {

// A vocabulary with shared prefixes, JSON punctuation, multi-byte UTF-8 pieces
// and pieces that split a code point, plus ids 0 (special), 1 (end) and an empty piece.
Vocabulary test_vocab() {
  Vocabulary v;
  v.tokens = {"<s>", "</s>", ""};
  for (const char* t : {"{",    "}",        "[",   "]",    ",",      ":",    "\"",  " ",     "\n",   "{\"",
                        "\":",  "\": ",     "\",", "\"}",  "},",     "true", "tr",  "false", "null", "nul",
                        "0",    "1",        "12",  "123",  "-",      "-1",   ".",   "5",     "e",    "E+",
                        "a",    "ab",       "abc", "name", "\"name", "age",  "x",   "é",     "\xC3", "\xA9",
                        "日本", "\xE6\x97", "\\",  "\\n",  "\\u00",  "41",   "yes", "no",    "not",  "2024",
                        "-05",  "-06",      "T",   "Z",    "  ",     "\t"}) {
    v.tokens.push_back(t);
  }
  v.never_allowed = {0};
  v.end_of_generation = {1};
  v.rows = static_cast<int32_t>(v.tokens.size()) + 3;  // padded rows stay 0
  return v;
}

void check_walk(const std::shared_ptr<const CompiledGrammar>& g, const Vocabulary& vocab, uint32_t seed) {
  GrammarTokenMask masks(vocab);
  std::mt19937 rng(seed);
  GrammarState state(g);
  std::vector<uint8_t> mask, again;
  for (int step = 0; step < 40; ++step) {
    masks.fill(state, mask);
    ASSERT_EQ(mask.size(), static_cast<size_t>(vocab.rows));
    std::vector<int32_t> allowed;
    for (size_t id = 0; id < mask.size(); ++id) {
      bool expect = false;
      if (id == 1) {
        expect = state.can_end();
      } else if (id >= 3 && id < vocab.tokens.size()) {
        expect = state.allows(vocab.tokens[id]);
      }
      ASSERT_EQ(mask[id], expect ? 1 : 0)
          << "step " << step << " token " << id << " '" << (id < vocab.tokens.size() ? vocab.tokens[id] : "") << "'";
      if (expect && id != 1) allowed.push_back(static_cast<int32_t>(id));
    }
    masks.fill(state, again);  // from the cache
    ASSERT_EQ(mask, again);
    if (allowed.empty()) break;
    const int32_t pick = allowed[rng() % allowed.size()];
    ASSERT_TRUE(state.accept_bytes(vocab.tokens[static_cast<size_t>(pick)]));
  }
}

TEST(GrammarTokenMask, EqualsTokenByTokenCheckAlongRandomWalks) {
  const Vocabulary vocab = test_vocab();
  const std::shared_ptr<const CompiledGrammar> grammars[] = {
      compile_json_schema(std::string_view(
          R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
              "tags":{"type":"array","items":{"enum":["yes","no","not"]}}},"required":["name"]})")),
      compile_json_schema(std::string_view("{}")),
      compile_json_schema(std::string_view(R"({"type":"string","format":"date"})")),
      compile_regex("(ab|abc|a)+[0-9]{1,3}é?"),
      compile_gbnf(R"(root ::= "日本" [^\n]* "\n" | "yes" | "no" root)"),
  };
  for (size_t i = 0; i < std::size(grammars); ++i) {
    for (uint32_t seed = 0; seed < 5; ++seed) {
      SCOPED_TRACE("grammar " + std::to_string(i) + " seed " + std::to_string(seed));
      check_walk(grammars[i], vocab, seed);
    }
  }
}

TEST(GrammarTokenMask, OnlyEndOfGenerationOnceComplete) {
  const Vocabulary vocab = test_vocab();
  GrammarTokenMask masks(vocab);
  GrammarState s(compile_regex("yes|no"));
  ASSERT_TRUE(s.accept_bytes("yes"));
  std::vector<uint8_t> mask;
  masks.fill(s, mask);
  for (size_t id = 0; id < mask.size(); ++id) EXPECT_EQ(mask[id], id == 1 ? 1 : 0) << id;
}

TEST(GrammarTokenMask, AGrammarIsFreedAfterItsMasksWereComputed) {
  // The automaton inside a grammar holds states; they must not own the grammar.
  const Vocabulary vocab = test_vocab();
  GrammarTokenMask masks(vocab);
  std::weak_ptr<const CompiledGrammar> weak;
  {
    auto g = compile_regex("(ab|a)+[0-9]");
    weak = g;
    GrammarState s(g);
    std::vector<uint8_t> mask;
    masks.fill(s, mask);
    ASSERT_TRUE(s.accept_bytes("ab"));
    masks.fill(s, mask);
  }
  EXPECT_TRUE(weak.expired());
}

TEST(GrammarCache, CompilesOncePerSourceAndEvictsTheOldest) {
  GrammarCache cache(2);
  auto a = cache.get(GrammarKind::kRegex, "a+");
  auto a2 = cache.get(GrammarKind::kRegex, "a+");
  EXPECT_EQ(a, a2);
  EXPECT_EQ(cache.hits(), 1u);
  auto b = cache.get(GrammarKind::kChoice, R"(["x","y"])");
  EXPECT_TRUE(testing::matches(b, "y"));
  auto gb = cache.get(GrammarKind::kGbnf, R"(root ::= "a")");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.get(GrammarKind::kRegex, "a+"), a);  // evicted, compiled again
  // Same text, different kind: different entries.
  EXPECT_NE(cache.get(GrammarKind::kJsonSchema, R"({"const":"a"})"),
            cache.get(GrammarKind::kRegex, R"({"const":"a"})"));
  EXPECT_THROW(cache.get(GrammarKind::kChoice, "[1]"), GrammarError);
}

}  // namespace
}  // namespace nucleus::grammar

// Token masks against the definition: for states along random walks through
// several grammars, fill() equals checking every token byte by byte with
// GrammarState::allows, end-of-generation exactly when can_end(), special
// tokens never; cached masks equal fresh ones.
#include <gtest/gtest.h>

#include <random>

#include "sampling/grammar/automaton.h"
#include "sampling/grammar/gbnf.h"
#include "sampling/grammar/grammar_cache.h"
#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/regex.h"
#include "sampling/grammar/token_mask.h"
#include "sampling/grammar/token_trie.h"
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
                        "-05",  "-06",      "T",   "Z",    "  ",     "\t",    "ab",   "日"}) {
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

// The automaton's shortcuts against the plain runtime, on the states of random
// walks: byte classes group bytes that every byte set treats alike, and
// successors() gives for each class what accept_byte gives for each of its bytes.
TEST(GrammarState, SuccessorsEqualAcceptBytePerByte) {
  const Vocabulary vocab = test_vocab();
  const std::shared_ptr<const CompiledGrammar> grammars[] = {
      compile_json_schema(std::string_view(
          R"({"type":"object","properties":{"name":{"type":"string","maxLength":5},"n":{"type":"integer"}}})")),
      compile_regex("(ab|abc|a)+[0-9]{1,3}é?"),
      compile_gbnf(R"(root ::= "日本" [^\n]* "\n" | "yes" | "no" root)"),
  };
  for (const auto& g : grammars) {
    for (uint32_t i = 0; i < g->code().size(); ++i) {
      if (op_kind(g->code()[i]) != Op::kBytes) continue;
      const ByteSet& set = g->byte_set(op_index(g->code()[i]));
      for (int b = 0; b < 256; ++b) {
        const auto byte = static_cast<uint8_t>(b);
        const uint8_t first = g->class_members(g->byte_class(byte)).front();
        ASSERT_EQ(set.test(byte), set.test(first)) << b;
      }
    }
    std::mt19937 rng(7);
    GrammarState state(g);
    for (int step = 0; step < 30; ++step) {
      std::vector<std::optional<GrammarState>> expected(256);
      for (int b = 0; b < 256; ++b) {
        GrammarState next = state;
        if (next.accept_byte(static_cast<uint8_t>(b))) expected[static_cast<size_t>(b)] = next;
      }
      std::vector<uint8_t> covered(256, 0);
      for (const auto& [byte, next] : state.successors()) {
        for (uint8_t member : g->class_members(g->byte_class(byte))) {
          covered[member] = 1;
          ASSERT_EQ(next.has_value(), expected[member].has_value()) << "step " << step << " byte " << int{member};
          if (next) {
            ASSERT_TRUE(*next == *expected[member]) << "step " << step << " byte " << int{member};
          }
        }
      }
      for (int b = 0; b < 256; ++b) {
        if (!covered[static_cast<size_t>(b)]) {
          ASSERT_FALSE(expected[static_cast<size_t>(b)]) << "byte " << b;
        }
      }
      std::vector<uint8_t> allowed;
      for (int b = 0; b < 256; ++b) {
        if (expected[static_cast<size_t>(b)]) allowed.push_back(static_cast<uint8_t>(b));
      }
      if (allowed.empty()) break;
      ASSERT_TRUE(state.accept_byte(allowed[rng() % allowed.size()]));
    }
  }
}

TEST(TokenTrie, EveryTokenEndsAtTheNodeOfItsLastByte) {
  const Vocabulary vocab = test_vocab();
  std::vector<int32_t> ids;
  for (size_t id = 3; id < vocab.tokens.size(); ++id) ids.push_back(static_cast<int32_t>(id));
  const TokenTrie trie = TokenTrie::build(sampling::SortedVocabulary::build(
      ids, [&](int32_t id) -> const std::string& { return vocab.tokens[static_cast<size_t>(id)]; }));
  // Rebuild each node's path from the depths and check the tokens ending there.
  std::vector<std::string> found(vocab.tokens.size());
  std::string path;
  for (size_t i = 0; i < trie.size(); ++i) {
    const TokenTrie::Node& node = trie.nodes[i];
    ASSERT_LE(node.depth, path.size());
    path.resize(node.depth);
    path.push_back(static_cast<char>(node.byte));
    ASSERT_GT(node.subtree_end, i);
    if (node.subtree_end < trie.size()) {
      ASSERT_LE(trie.nodes[node.subtree_end].depth, node.depth);
    }
    for (uint32_t t = node.terminal_begin; t < trie.nodes[i + 1].terminal_begin; ++t) {
      found[static_cast<size_t>(trie.terminals[t])] = path;
    }
  }
  for (int32_t id : ids) EXPECT_EQ(found[static_cast<size_t>(id)], vocab.tokens[static_cast<size_t>(id)]) << id;
  EXPECT_EQ(trie.terminals.size(), ids.size());
}

TEST(Automaton, MaskCacheEvictsTheLeastRecentlyUsed) {
  auto g = compile_regex("a+");
  Automaton& automaton = g->automaton();
  std::lock_guard lock(automaton.mutex());
  const size_t words = Automaton::kMaxMaskBytes / 4 / sizeof(uint64_t);  // four masks fill the cache
  for (int32_t id = 0; id < 4; ++id) automaton.store_mask(1, id, std::vector<uint64_t>(words, static_cast<uint64_t>(id)));
  ASSERT_NE(automaton.find_mask(1, 0), nullptr);  // 0 is now the most recently used; 1 the least
  automaton.store_mask(1, 4, std::vector<uint64_t>(words, 4));
  EXPECT_EQ(automaton.find_mask(1, 1), nullptr);
  ASSERT_NE(automaton.find_mask(1, 0), nullptr);
  EXPECT_EQ((*automaton.find_mask(1, 0))[0], 0u);
  EXPECT_NE(automaton.find_mask(1, 4), nullptr);
  EXPECT_EQ(automaton.mask_count(), 4u);
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

// GBNF front end and the byte-level runtime: hand-picked strings accepted and
// refused, error messages that name the construct, and llama.cpp's own example
// grammars (read from the llama-cpp-python sdist in the cache, never committed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sampling/grammar/gbnf.h"
#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/grammar_state.h"
#include "tests/sampling/grammar_test_util.h"

namespace nucleus::grammar {
namespace {

using testing::matches;

std::string error_of(std::string_view gbnf) {
  return testing::error_of([&] { compile_gbnf(gbnf); });
}

TEST(GrammarGbnf, LiteralsAlternativesAndGroups) {
  auto g = compile_gbnf(R"g(root ::= "yes" | "no" | ("may" "be"))g");
  EXPECT_TRUE(matches(g, "yes"));
  EXPECT_TRUE(matches(g, "no"));
  EXPECT_TRUE(matches(g, "maybe"));
  EXPECT_FALSE(matches(g, "ye"));
  EXPECT_FALSE(matches(g, "yess"));
  EXPECT_FALSE(matches(g, ""));
}

TEST(GrammarGbnf, Repetitions) {
  auto g = compile_gbnf("root ::= [a-c]{2,4} \"-\" [0-9]+ x? y*\nx ::= \"x\"\ny ::= \"y\"");
  EXPECT_TRUE(matches(g, "ab-1"));
  EXPECT_TRUE(matches(g, "abca-123xyyy"));
  EXPECT_TRUE(matches(g, "cc-0y"));
  EXPECT_FALSE(matches(g, "a-1"));
  EXPECT_FALSE(matches(g, "abcab-1"));
  EXPECT_FALSE(matches(g, "ab-"));
  EXPECT_FALSE(matches(g, "ab-1xx"));
  auto exact = compile_gbnf(R"(root ::= "ab"{3} [x]{2,})");
  EXPECT_TRUE(matches(exact, "abababxx"));
  EXPECT_TRUE(matches(exact, "abababxxxxx"));
  EXPECT_FALSE(matches(exact, "ababxx"));
  EXPECT_FALSE(matches(exact, "abababx"));
}

TEST(GrammarGbnf, ClassesOverCodePoints) {
  auto g = compile_gbnf(R"(root ::= [^"\\\n]* "\"" [ぁ-ゟ] [\u00e9\x41] .)");
  EXPECT_TRUE(matches(g, "héllo\"ぁé€"));
  EXPECT_TRUE(matches(g, "\"ゟA😀"));
  EXPECT_FALSE(matches(g, "a\nb\"ぁé."));
  EXPECT_FALSE(matches(g, "\"aé."));   // 'a' is not hiragana
  EXPECT_FALSE(matches(g, "\"ぁe."));  // 'e' is not in [\u00e9\x41]
  // A negated class takes whole code points, never a lone or broken UTF-8 byte.
  GrammarState s(g);
  EXPECT_FALSE(s.accept_byte(0x80));
  EXPECT_FALSE(s.accept_byte(0xC0));
  EXPECT_FALSE(s.accept_bytes("\xED\xA0\x80"));  // a surrogate
  EXPECT_TRUE(s.accept_byte(0xC3));
  EXPECT_FALSE(s.can_end());
  EXPECT_FALSE(s.accept_byte('a'));
  EXPECT_TRUE(s.accept_byte(0xA9));
}

TEST(GrammarGbnf, CommentsNewlinesAndEscapes) {
  auto g = compile_gbnf("# a comment\nroot ::= # here too\n  \"a\\n\\t\\\"\" |\n  b\nb ::= \"\\u00e9\\U0001F600\"\n");
  EXPECT_TRUE(matches(g, "a\n\t\""));
  EXPECT_TRUE(matches(g, "é😀"));
}

TEST(GrammarGbnf, RecursionAndTailCallsRunInBoundedDepth) {
  auto g = compile_gbnf(R"g(root ::= "(" root ")" | "x")g");
  EXPECT_TRUE(matches(g, "((x))"));
  EXPECT_FALSE(matches(g, "((x)"));
  auto list = compile_gbnf(R"(root ::= "a" root | "")");
  GrammarState s(list);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(s.accept_byte('a'));
  EXPECT_TRUE(s.can_end());
  EXPECT_EQ(s.stack_count(), 1u);
}

// Nesting and rule chains the compiler must survive: groups past
// kMaxGroupDepth are an error; a chain of 50,000 rules (root ::= r0, r0 ::= r1,
// ...) compiles, its left-recursion check walking the chain without recursing.
TEST(GrammarGbnf, DeepGroupsAreAnErrorAndLongRuleChainsCompile) {
  const auto nested = [](int depth) { return "root ::= " + std::string(depth, '(') + "\"a\"" + std::string(depth, ')'); };
  EXPECT_TRUE(matches(compile_gbnf(nested(kMaxGroupDepth)), "a"));
  EXPECT_NE(error_of(nested(100000)).find("groups nested deeper than 256"), std::string::npos);
  std::string chain = "root ::= r0\n";
  for (int i = 0; i < 50000; ++i) {
    // (Appended piece by piece: GCC 12 warns falsely on "r" + std::to_string(i), -Wrestrict.)
    chain += 'r';
    chain += std::to_string(i);
    chain += " ::= r";
    chain += std::to_string(i + 1);
    chain += '\n';
  }
  chain += "r50000 ::= \"a\"\n";
  EXPECT_TRUE(matches(compile_gbnf(chain), "a"));
}

TEST(GrammarGbnf, StateIsAValueToSnapshotAndRollBack) {
  auto g = compile_gbnf(R"(root ::= "ab" "c"* "d")");
  GrammarState s(g);
  ASSERT_TRUE(s.accept_bytes("ab"));
  const GrammarState snapshot = s;
  ASSERT_TRUE(s.accept_bytes("ccd"));
  EXPECT_TRUE(s.can_end());
  EXPECT_TRUE(s.no_more_bytes());
  s = snapshot;
  EXPECT_FALSE(s.can_end());
  EXPECT_TRUE(s.accept_bytes("cd"));
  // A refused byte leaves the state as it was; accept_bytes is all or nothing.
  GrammarState t(g);
  EXPECT_FALSE(t.accept_bytes("abx"));
  EXPECT_TRUE(t == GrammarState(g));
  EXPECT_TRUE(t.allows("abd"));
  EXPECT_FALSE(t.allows("abdd"));
}

TEST(GrammarGbnf, ErrorsNameTheConstruct) {
  EXPECT_NE(error_of("root ::= foo").find("undefined rule 'foo'"), std::string::npos);
  EXPECT_NE(error_of("start ::= \"a\"").find("no rule 'root'"), std::string::npos);
  EXPECT_NE(error_of("root ::= root \"a\" | \"b\"").find("left recursion: rule 'root'"), std::string::npos);
  EXPECT_NE(error_of("root ::= x \"a\"\nx ::= \"\" | root").find("left recursion"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a").find("unterminated string literal at line 1"), std::string::npos);
  EXPECT_NE(error_of("root ::= [a-").find("unterminated character class"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"\\q\"").find("unknown escape '\\q'"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"{3,1}").find("max below min"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"\nroot ::= \"b\"").find("defined twice at line 2"), std::string::npos);
  EXPECT_NE(error_of("root = \"a\"").find("expected '::='"), std::string::npos);
  EXPECT_NE(error_of("root ::= <[1000]>").find("token references"), std::string::npos);
}

TEST(GrammarGbnf, StarsOverNullableBodiesAreRewrittenNotLooped) {
  auto g = compile_gbnf(R"(root ::= ("a"? "b"?)* "c" | ( x | "d" )+ "e"
x ::= "" | "x")");
  for (const char* ok : {"c", "abc", "bbac", "aabbc", "e", "xde", "dxxe"}) EXPECT_TRUE(matches(g, ok)) << ok;
  for (const char* bad : {"", "ca", "abcc", "xd"}) EXPECT_FALSE(matches(g, bad)) << bad;
}

TEST(GrammarGbnf, TooAmbiguousIsAnErrorNotABlowUp) {
  // Every 'a' doubles the live parses until the bound.
  auto g = compile_gbnf(R"(root ::= "a" root "b" | "a" root "c" | "")");
  GrammarState s(g);
  try {
    for (int i = 0; i < 64; ++i) s.accept_byte('a');
    FAIL() << "expected GrammarError";
  } catch (const GrammarError& e) {
    EXPECT_NE(std::string(e.what()).find("too ambiguous"), std::string::npos);
  }
}

std::filesystem::path llama_grammars_dir() {
  const char* home = std::getenv("HOME");
  const char* cache = std::getenv("NUCLEUS_CACHE");
  std::filesystem::path root = cache ? cache : std::filesystem::path(home ? home : "/root") / ".cache/nucleus";
  return root / "peers/llama_cpp_python-0.3.36/vendor/llama.cpp/grammars";
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(GrammarGbnf, EveryLlamaCppExampleGrammarCompiles) {
  const auto dir = llama_grammars_dir();
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "missing " << dir << " (run bench/peers/fetch-llama-src.sh)";
  }
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".gbnf") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW({
      auto g = compile_gbnf(read(entry.path()));
      GrammarState s(g);
      EXPECT_FALSE(s.is_dead());
    });
    ++count;
  }
  EXPECT_GE(count, 8);
}

TEST(GrammarGbnf, LlamaCppExampleGrammarsAcceptTheirLanguage) {
  const auto dir = llama_grammars_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "missing " << dir;
  const std::pair<const char*, std::vector<std::pair<std::string, bool>>> cases[] = {
      {"json.gbnf", {{"{\"a\": [1, 2.5e3, true, null, \"x\\n\"]}", true}, {"{\"a\" 1}", false}}},
      {"json_arr.gbnf", {{"[\n{\"k\": \"v\"}\n]", true}, {"{}", false}}},
      {"arithmetic.gbnf", {{"(1+2)*x=3\n", true}, {"1+=3\n", false}}},
      {"chess.gbnf", {{"1. e4 e5\n2. Nf3 Nc6\n", true}, {"1. e9 e5\n", false}}},
      {"list.gbnf", {{"- apples\n- pears\n", true}, {"apples\n", false}}},
      {"japanese.gbnf", {{"こんにちは 世界", true}, {"hello", false}}},
      {"c.gbnf", {{"int main(){return 0;}", true}, {"int main(", false}}},
  };
  for (const auto& [file, strings] : cases) {
    auto g = compile_gbnf(read(dir / file));
    for (const auto& [text, ok] : strings) EXPECT_EQ(matches(g, text), ok) << file << ": " << text;
  }
}

}  // namespace
}  // namespace nucleus::grammar

// Regex and choice front ends: hand-picked strings, and errors that name the
// unsupported feature.
#include <gtest/gtest.h>

#include <string>

#include "sampling/grammar/choice.h"
#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/regex.h"
#include "tests/sampling/grammar_test_util.h"

namespace nucleus::grammar {
namespace {

using testing::error_of;
using testing::matches;

TEST(GrammarRegex, WholeStringMatch) {
  auto g = compile_regex("ab+c?");
  EXPECT_TRUE(matches(g, "ab"));
  EXPECT_TRUE(matches(g, "abbbc"));
  EXPECT_FALSE(matches(g, "xab"));
  EXPECT_FALSE(matches(g, "abcc"));
  EXPECT_FALSE(matches(g, "a"));
}

TEST(GrammarRegex, ClassesAndShorthands) {
  auto g = compile_regex(R"(\d{3}-\w+\s[^a-c\d]\.[a-]\D)");
  EXPECT_TRUE(matches(g, "123-ab_9 x.-!"));
  EXPECT_TRUE(matches(g, "000-Z\té.aZ"));
  EXPECT_FALSE(matches(g, "12-ab x.-!"));
  EXPECT_FALSE(matches(g, "123-ab b.-!"));  // b is excluded
  EXPECT_FALSE(matches(g, "123-ab 5.-!"));  // digits are excluded
  EXPECT_FALSE(matches(g, "123-ab xx-!"));  // \. is a literal dot
  EXPECT_FALSE(matches(g, "123-ab x.-1"));  // \D
  // \D is ASCII only (so that Python's Unicode \D agrees): no Arabic-Indic digit, no 'é'.
  EXPECT_FALSE(matches(g, "123-ab x.-é"));
}

TEST(GrammarRegex, DotIsAnyCodePointButNewline) {
  auto g = compile_regex("a.c");
  EXPECT_TRUE(matches(g, "abc"));
  EXPECT_TRUE(matches(g, "a€c"));
  EXPECT_TRUE(matches(g, "a😀c"));
  EXPECT_FALSE(matches(g, "a\nc"));
  EXPECT_FALSE(matches(g, "ac"));
}

TEST(GrammarRegex, QuantifiersGroupsAndAlternation) {
  auto g = compile_regex("^(?:ab|cd){2,3}(x|y)*?z{2}[0-9]{,2}$");
  EXPECT_TRUE(matches(g, "abcdzz"));
  EXPECT_TRUE(matches(g, "abcdabxyxzz12"));
  EXPECT_FALSE(matches(g, "abzz"));
  EXPECT_FALSE(matches(g,
                       "abababab"
                       "zz"));
  EXPECT_FALSE(matches(g, "abcdzz123"));
  auto named = compile_regex("(?P<year>\\d{4})-(?<m>\\d\\d)");
  EXPECT_TRUE(matches(named, "2024-05"));
  auto literal_brace = compile_regex("a{b}");
  EXPECT_TRUE(matches(literal_brace, "a{b}"));
  auto empty = compile_regex("a|");
  EXPECT_TRUE(matches(empty, ""));
  EXPECT_TRUE(matches(empty, "a"));
}

TEST(GrammarRegex, EscapedDollarIsALiteral) {
  auto g = compile_regex(R"(\d+\$)");
  EXPECT_TRUE(matches(g, "12$"));
  EXPECT_FALSE(matches(g, "12"));
}

TEST(GrammarRegex, ErrorsNameTheFeature) {
  const auto err = [](const char* re) { return error_of([&] { compile_regex(re); }); };
  EXPECT_NE(err("(a)\\1").find("backreference '\\1'"), std::string::npos);
  EXPECT_NE(err("a(?=b)").find("lookaround '(?='"), std::string::npos);
  EXPECT_NE(err("a(?<!b)").find("lookaround '(?<!'"), std::string::npos);
  EXPECT_NE(err("\\bword").find("word boundary '\\b'"), std::string::npos);
  EXPECT_NE(err("(?i)abc").find("inline flags"), std::string::npos);
  EXPECT_NE(err("a++").find("possessive"), std::string::npos);
  EXPECT_NE(err("*a").find("nothing to repeat"), std::string::npos);
  EXPECT_NE(err("a^b").find("anchor '^'"), std::string::npos);
  EXPECT_NE(err("a$b").find("anchor '$'"), std::string::npos);
  EXPECT_NE(err("(ab").find("missing ')'"), std::string::npos);
  EXPECT_NE(err("ab)").find("unmatched ')'"), std::string::npos);
  EXPECT_NE(err("[ab").find("missing ']'"), std::string::npos);
  EXPECT_NE(err("\\p{L}").find("Unicode property"), std::string::npos);
  // Nested stars over nullable bodies are rewritten, not refused.
  auto nested = compile_regex("(a*|b?)*c");
  EXPECT_TRUE(matches(nested, "aabbac"));
  EXPECT_TRUE(matches(nested, "c"));
  EXPECT_FALSE(matches(nested, "aab"));
}

// Groups nest at most kMaxGroupDepth deep: the parser recurses per group, and
// 100,000 of them overflowed the stack of the thread compiling it.
TEST(GrammarRegex, GroupsNestedTooDeepAreAnError) {
  const auto nested = [](int depth) { return std::string(depth, '(') + "a" + std::string(depth, ')'); };
  EXPECT_TRUE(matches(compile_regex(nested(kMaxGroupDepth)), "a"));
  EXPECT_NE(error_of([&] { compile_regex(nested(kMaxGroupDepth + 1)); }).find("groups nested deeper than 256"),
            std::string::npos);
  EXPECT_NE(error_of([&] { compile_regex(nested(100000)); }).find("nested deeper"), std::string::npos);
}

TEST(GrammarChoice, ExactlyOneOption) {
  auto g = compile_choice({"yes", "no", "not sure", "no way", ""});
  for (const char* s : {"yes", "no", "not sure", "no way", ""}) EXPECT_TRUE(matches(g, s)) << s;
  for (const char* s : {"ye", "yess", "not", "no wa", "nope"}) EXPECT_FALSE(matches(g, s)) << s;
  // Shared prefixes do not multiply the parses: one live stack after "no".
  GrammarState s(g);
  ASSERT_TRUE(s.accept_bytes("no"));
  EXPECT_TRUE(s.can_end());
  EXPECT_LE(s.stack_count(), 2u);
  EXPECT_NE(error_of([] { compile_choice({}); }).find("empty"), std::string::npos);
}

}  // namespace
}  // namespace nucleus::grammar

// Completeness and soundness on cases judged by independent tools
// (scripts/golden/grammar_cases.py): every document that hypothesis-jsonschema
// drew and `jsonschema` accepted is accepted byte by byte; every mutated
// document that `jsonschema` (or the JSON parser) rejects is refused. The same
// for regexes with rstr's strings judged by Python's re.fullmatch.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/regex.h"
#include "tests/common/test_env.h"
#include "tests/sampling/grammar_test_util.h"

namespace nucleus::grammar {
namespace {

nlohmann::json load(const char* name) {
  std::ifstream in(nucleus::test::data_dir() + "/grammar/" + name);
  EXPECT_TRUE(in) << "missing tests/data/grammar/" << name << " (run scripts/golden/grammar_cases.py)";
  return in ? nlohmann::json::parse(in) : nlohmann::json::array();
}

TEST(GrammarGolden, JsonSchemaDocumentsJudgedByJsonschema) {
  const auto cases = load("json_schema_cases.json");
  ASSERT_GE(cases.size(), 50u);
  size_t accepted = 0, refused = 0;
  for (const auto& c : cases) {
    const std::string schema = c["schema"];
    SCOPED_TRACE(schema);
    std::shared_ptr<const CompiledGrammar> g;
    ASSERT_NO_THROW(g = compile_json_schema(std::string_view(schema)));
    for (const auto& doc : c["valid"]) {
      EXPECT_TRUE(testing::matches(g, doc.get<std::string>())) << "valid document refused: " << doc.get<std::string>();
      ++accepted;
    }
    for (const auto& doc : c["invalid"]) {
      EXPECT_FALSE(testing::matches(g, doc.get<std::string>()))
          << "invalid document accepted: " << doc.get<std::string>();
      ++refused;
    }
  }
  std::printf("%zu schemas: %zu valid documents accepted, %zu invalid documents refused\n", cases.size(), accepted,
              refused);
  EXPECT_GE(accepted, 300u);
  EXPECT_GE(refused, 300u);
}

TEST(GrammarGolden, RegexStringsJudgedByPythonRe) {
  const auto cases = load("regex_cases.json");
  ASSERT_GE(cases.size(), 50u);
  size_t matched = 0, refused = 0;
  for (const auto& c : cases) {
    const std::string regex = c["regex"];
    SCOPED_TRACE(regex);
    std::shared_ptr<const CompiledGrammar> g;
    ASSERT_NO_THROW(g = compile_regex(regex));
    for (const auto& s : c["match"]) {
      EXPECT_TRUE(testing::matches(g, s.get<std::string>())) << "matching string refused: " << s.get<std::string>();
      ++matched;
    }
    for (const auto& s : c["nomatch"]) {
      EXPECT_FALSE(testing::matches(g, s.get<std::string>()))
          << "non-matching string accepted: " << s.get<std::string>();
      ++refused;
    }
  }
  std::printf("%zu regexes: %zu matching strings accepted, %zu non-matching refused\n", cases.size(), matched, refused);
  EXPECT_GE(matched, 300u);
  EXPECT_GE(refused, 300u);
}

}  // namespace
}  // namespace nucleus::grammar

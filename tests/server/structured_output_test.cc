#include "server/structured_output.h"

#include <gtest/gtest.h>

#include <string>

#include "server/errors.h"

namespace nucleus::server {
namespace {

using nlohmann::json;

std::optional<StructuredOutput> parse(const std::string& body_text, bool* json_object = nullptr) {
  bool jo = false;
  auto out = parse_structured_output(json::parse(body_text), jo);
  if (json_object) *json_object = jo;
  return out;
}

std::string refused_param(const std::string& body_text) {
  try {
    parse(body_text);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << body_text;
    return e.param();
  }
  ADD_FAILURE() << "accepted: " << body_text;
  return "";
}

TEST(StructuredOutput, EachFormNamesItsKindSourceAndField) {
  auto s = parse(R"({"response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "integer"}}}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, grammar::GrammarKind::kJsonSchema);
  EXPECT_EQ(json::parse(s->source), json({{"type", "integer"}}));
  EXPECT_EQ(s->param, "response_format");
  s = parse(R"({"guided_choice": ["a", "b"]})");
  EXPECT_EQ(s->kind, grammar::GrammarKind::kChoice);
  EXPECT_EQ(s->source, R"(["a","b"])");
  s = parse(R"({"structured_outputs": {"regex": "[0-9]+"}})");
  EXPECT_EQ(s->kind, grammar::GrammarKind::kRegex);
  EXPECT_EQ(s->param, "structured_outputs.regex");
  s = parse(R"({"grammar": "root ::= \"x\""})");
  EXPECT_EQ(s->kind, grammar::GrammarKind::kGbnf);
  s = parse(R"({"guided_json": "{\"type\": \"string\"}"})");
  EXPECT_EQ(s->source, R"({"type": "string"})");
  s = parse(R"({"response_format": {"type": "json_object", "schema": {"type": "object"}}})");
  EXPECT_EQ(s->param, "response_format");
  bool json_object = false;
  EXPECT_FALSE(parse(R"({"structured_outputs": {"json_object": true}})", &json_object));
  EXPECT_TRUE(json_object);
  EXPECT_FALSE(parse(R"({"response_format": {"type": "text"}, "guided_decoding_backend": "xgrammar"})"));
}

TEST(StructuredOutput, ASchemaObjectIsReReadInTheClientsKeyOrder) {
  const std::string body = R"({"guided_json": {"type": "object", "properties": {"zeta": {}, "alpha": {}}}})";
  StructuredOutput s = *parse(body);
  EXPECT_LT(s.source.find("alpha"), s.source.find("zeta"));  // nlohmann::json sorted them
  keep_schema_key_order(body, s);
  EXPECT_LT(s.source.find("zeta"), s.source.find("alpha")) << s.source;
}

TEST(StructuredOutput, BadShapesAndTwoAtOnceAreRefusedNamingTheField) {
  EXPECT_EQ(refused_param(R"({"guided_choice": []})"), "guided_choice");
  EXPECT_EQ(refused_param(R"({"guided_choice": ["a", 1]})"), "guided_choice");
  EXPECT_EQ(refused_param(R"({"guided_regex": ""})"), "guided_regex");
  EXPECT_EQ(refused_param(R"({"guided_json": "{not json"})"), "guided_json");
  EXPECT_EQ(refused_param(R"({"guided_json": 5})"), "guided_json");
  EXPECT_EQ(refused_param(R"({"structured_outputs": []})"), "structured_outputs");
  EXPECT_EQ(refused_param(R"({"structured_outputs": {"structural_tag": "x"}})"), "structured_outputs.structural_tag");
  EXPECT_EQ(refused_param(R"({"structured_outputs": {"regex": "a", "choice": ["b"]}})"), "structured_outputs");
  EXPECT_EQ(refused_param(R"({"response_format": {"type": "json_schema"}})"), "response_format");
  EXPECT_EQ(refused_param(R"({"response_format": {"type": "json_schema", "json_schema": {"schema": {}, "strict": 1}}})"),
            "response_format");
  EXPECT_EQ(refused_param(R"({"grammar": "root ::= \"a\"", "guided_regex": "a"})"), "grammar");
  EXPECT_EQ(refused_param(R"({"guided_whitespace_pattern": " "})"), "guided_whitespace_pattern");
  // A schema given as text is held to a body's nesting depth (its brackets are inside a string of the body).
  const std::string deep = std::string(600, '[') + std::string(600, ']');
  EXPECT_EQ(refused_param(json{{"guided_json", "{\"const\": " + deep + "}"}}.dump()), "guided_json");
  EXPECT_TRUE(parse(json{{"guided_json", "{\"const\": [[1]]}"}}.dump()));
}

}  // namespace
}  // namespace nucleus::server

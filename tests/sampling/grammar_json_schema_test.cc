// JSON Schema front end: documents accepted and refused by hand, and errors
// that name the keyword and its JSON pointer.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "sampling/grammar/json_schema.h"
#include "tests/sampling/grammar_test_util.h"

namespace nucleus::grammar {
namespace {

using testing::error_of;
using testing::matches;

std::shared_ptr<const CompiledGrammar> schema(const char* text) { return compile_json_schema(std::string_view(text)); }

TEST(GrammarJsonSchema, ObjectPropertiesInSchemaOrder) {
  auto g = schema(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},
                      "c":{"type":"boolean"}},"required":["a","c"],"additionalProperties":false})");
  EXPECT_TRUE(matches(g, R"({"a":1,"c":true})"));
  EXPECT_TRUE(matches(g, R"({"a": -12, "b": "x\"y", "c": false})"));
  EXPECT_TRUE(matches(g, "{\n  \"a\": 0,\n  \"c\": true\n}"));
  EXPECT_FALSE(matches(g, R"({"c":true,"a":1})"));  // schema order
  EXPECT_FALSE(matches(g, R"({"a":1})"));           // c is required
  EXPECT_FALSE(matches(g, R"({"a":1,"c":true,"d":1})"));
  EXPECT_FALSE(matches(g, R"({"a":01,"c":true})"));
  EXPECT_FALSE(matches(g, R"({"a":1,,"c":true})"));
  EXPECT_FALSE(matches(g, R"({"a":1,"c":true,})"));
  EXPECT_FALSE(matches(g, R"( {"a":1,"c":true})"));
}

TEST(GrammarJsonSchema, PropertyOrderIsTheSchemaTextOrderNotAlphabetical) {
  auto g = schema(R"({"type":"object","properties":{"v":{"type":"integer"},"k":{"type":"null"}},"required":["v"]})");
  EXPECT_TRUE(matches(g, R"({"v":1,"k":null})"));
  EXPECT_TRUE(matches(g, R"({"v":1})"));
  EXPECT_FALSE(matches(g, R"({"k":null,"v":1})"));
}

TEST(GrammarJsonSchema, AllOptionalPropertiesAndCommas) {
  auto g = schema(R"({"type":"object","properties":{"x":{"type":"null"},"y":{"type":"null"},"z":{"type":"null"}}})");
  for (const char* ok :
       {"{}", R"({"x":null})", R"({"y":null})", R"({"x":null,"z":null})", R"({"x":null,"y":null,"z":null})"}) {
    EXPECT_TRUE(matches(g, ok)) << ok;
  }
  for (const char* bad : {R"({,"y":null})", R"({"x":null,})", R"({"x":null "y":null})", R"({"y":null,"x":null})"}) {
    EXPECT_FALSE(matches(g, bad)) << bad;
  }
}

TEST(GrammarJsonSchema, AdditionalPropertiesTrueAllowsOtherKeysOnly) {
  auto g =
      schema(R"({"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":{"type":"string"}})");
  EXPECT_TRUE(matches(g, R"({"id":1,"name":"x","i":"y"})"));
  EXPECT_TRUE(matches(g, R"({"idx":"a"})"));
  EXPECT_TRUE(matches(g, R"({})"));
  EXPECT_FALSE(matches(g, R"({"id":1,"id":"x"})"));  // a declared name is not an extra key
  EXPECT_FALSE(matches(g, R"({"name":1})"));         // extras follow additionalProperties
}

TEST(GrammarJsonSchema, ArraysWithBoundsAndPrefixItems) {
  auto g = schema(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})");
  EXPECT_TRUE(matches(g, "[1,2]"));
  EXPECT_TRUE(matches(g, "[1, 2, 3]"));
  EXPECT_FALSE(matches(g, "[1]"));
  EXPECT_FALSE(matches(g, "[1,2,3,4]"));
  EXPECT_FALSE(matches(g, "[1,\"a\"]"));
  auto tuple = schema(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
  EXPECT_TRUE(matches(tuple, R"(["a",1])"));
  EXPECT_TRUE(matches(tuple, R"(["a"])"));
  EXPECT_TRUE(matches(tuple, "[]"));
  EXPECT_FALSE(matches(tuple, R"(["a",1,2])"));
  EXPECT_FALSE(matches(tuple, R"([1,"a"])"));
  auto empty = schema(R"({"type":"array","maxItems":0})");
  EXPECT_TRUE(matches(empty, "[ ]"));
  EXPECT_FALSE(matches(empty, "[1]"));
}

TEST(GrammarJsonSchema, StringsLengthsPatternsAndFormats) {
  auto len = schema(R"({"type":"string","minLength":2,"maxLength":3})");
  EXPECT_TRUE(matches(len, R"("ab")"));
  EXPECT_TRUE(matches(len, R"("é\n😀")"));
  EXPECT_FALSE(matches(len, R"("a")"));
  EXPECT_FALSE(matches(len, R"("abcd")"));
  EXPECT_FALSE(matches(len, "\"a\nb\""));  // a raw control byte
  auto pattern = schema(R"({"type":"string","pattern":"^[a-z]+\"\\d$"})");
  EXPECT_TRUE(matches(pattern, R"("abc\"7")"));
  EXPECT_FALSE(matches(pattern, R"("abc"7")"));
  auto search = schema(R"({"type":"string","pattern":"ab"})");
  EXPECT_TRUE(matches(search, R"("xxabyy")"));
  EXPECT_FALSE(matches(search, R"("xxayy")"));
  auto date = schema(R"({"type":"string","format":"date"})");
  EXPECT_TRUE(matches(date, R"("2024-02-28")"));
  EXPECT_TRUE(matches(date, R"("2024-12-31")"));
  EXPECT_FALSE(matches(date, R"("2024-02-30")"));
  EXPECT_FALSE(matches(date, R"("2024-04-31")"));
  EXPECT_FALSE(matches(date, R"("2024-13-01")"));
  auto dt = schema(R"({"format":"date-time"})");
  EXPECT_TRUE(matches(dt, R"("2024-05-06T07:08:09.123Z")"));
  EXPECT_TRUE(matches(dt, R"("2024-05-06T23:59:59+05:30")"));
  EXPECT_FALSE(matches(dt, R"("2024-05-06T24:00:00Z")"));
  auto uuid = schema(R"({"type":"string","format":"uuid"})");
  EXPECT_TRUE(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(matches(uuid, R"("123e4567e89b12d3a456426614174000")"));
  auto email = schema(R"({"type":"string","format":"email"})");
  EXPECT_TRUE(matches(email, R"("a.b+c@example.co.uk")"));
  EXPECT_FALSE(matches(email, R"("nobody")"));
  auto ipv4 = schema(R"({"type":"string","format":"ipv4"})");
  for (const char* ok : {"0.0.0.0", "192.168.1.255", "255.255.255.255", "10.0.99.199"}) {
    EXPECT_TRUE(matches(ipv4, std::string("\"") + ok + "\"")) << ok;
  }
  for (const char* bad : {"256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.-4"}) {
    EXPECT_FALSE(matches(ipv4, std::string("\"") + bad + "\"")) << bad;
  }
  auto ipv6 = schema(R"({"type":"string","format":"ipv6"})");
  for (const char* ok : {"::", "::1", "fe80::1", "2001:db8:0:0:0:0:2:1", "2001:db8::2:1", "1:2:3:4:5:6:7::", "1::8"}) {
    EXPECT_TRUE(matches(ipv6, std::string("\"") + ok + "\"")) << ok;
  }
  for (const char* bad : {"1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", ":1", "1:2:3:4:5:6:7"}) {
    EXPECT_FALSE(matches(ipv6, std::string("\"") + bad + "\"")) << bad;
  }
  auto host = schema(R"({"type":"string","format":"hostname"})");
  for (const char* ok : {"localhost", "mail.example.com", "a-b.c9"}) {
    EXPECT_TRUE(matches(host, std::string("\"") + ok + "\"")) << ok;
  }
  for (const char* bad : {"-a.com", "a-.com", "a..b", "a.b.", "a_b.com", "1.2.3.4"}) {
    EXPECT_FALSE(matches(host, std::string("\"") + bad + "\"")) << bad;
  }
  auto dur = schema(R"({"type":"string","format":"duration"})");
  for (const char* ok : {"P1D", "P3W", "PT5M", "P1Y2M3DT4H5M6S", "PT36H", "P2MT1S"}) {
    EXPECT_TRUE(matches(dur, std::string("\"") + ok + "\"")) << ok;
  }
  for (const char* bad : {"P", "PT", "P1H", "1D", "P1DT", "PT1H5S", "P1W2D"}) {
    EXPECT_FALSE(matches(dur, std::string("\"") + bad + "\"")) << bad;
  }
}

// A 'type' beside enum or const narrows them: values of other types are left
// out, and none left (or a const of another type) is an error, never an
// output that breaks the schema.
TEST(GrammarJsonSchema, EnumAndConstKeepOnlyValuesOfTheType) {
  auto e = schema(R"({"type":"string","enum":["a",1,"b",null]})");
  EXPECT_TRUE(matches(e, R"("a")"));
  EXPECT_TRUE(matches(e, R"("b")"));
  EXPECT_FALSE(matches(e, "1"));
  EXPECT_FALSE(matches(e, "null"));
  auto ints = schema(R"({"type":"integer","enum":[1.5,"x",2,3.0]})");
  EXPECT_TRUE(matches(ints, "2"));
  EXPECT_TRUE(matches(ints, "3.0"));  // an integer to JSON Schema
  EXPECT_FALSE(matches(ints, "1.5"));
  EXPECT_FALSE(matches(ints, R"("x")"));
  auto several = schema(R"({"type":["number","null"],"enum":[true,null,0.5]})");
  EXPECT_TRUE(matches(several, "null"));
  EXPECT_TRUE(matches(several, "0.5"));
  EXPECT_FALSE(matches(several, "true"));
  EXPECT_TRUE(matches(schema(R"({"type":"number","const":3})"), "3"));
  const auto err = [](const char* text) { return error_of([&] { schema(text); }); };
  EXPECT_NE(err(R"({"type":"string","enum":[1,2]})").find("no 'enum' value is of the schema's 'type' at '#/enum'"),
            std::string::npos);
  EXPECT_NE(err(R"({"type":"string","const":3})").find("'const' is not of the schema's 'type' at '#/const'"),
            std::string::npos);
  // A 'type' that is no JSON Schema type narrows nothing beside an enum (LLM-written schemas say "enum").
  EXPECT_TRUE(matches(schema(R"({"type":"enum","enum":["a",1]})"), "1"));
}

TEST(GrammarJsonSchema, IntegerRangesAreExact) {
  auto g = schema(R"({"type":"integer","minimum":-15,"exclusiveMaximum":123})");
  for (int v = -40; v <= 300; ++v) {
    EXPECT_EQ(matches(g, std::to_string(v)), v >= -15 && v < 123) << v;
  }
  EXPECT_FALSE(matches(g, "007"));
  EXPECT_FALSE(matches(g, "-0"));
  auto open_low = schema(R"({"type":"integer","maximum":-1000})");
  EXPECT_TRUE(matches(open_low, "-1000"));
  EXPECT_TRUE(matches(open_low, "-123456789"));
  EXPECT_FALSE(matches(open_low, "-999"));
  EXPECT_FALSE(matches(open_low, "5"));
  auto open_high = schema(R"({"type":"integer","exclusiveMinimum":99.5})");
  EXPECT_TRUE(matches(open_high, "100"));
  EXPECT_TRUE(matches(open_high, "12345678901234"));
  EXPECT_FALSE(matches(open_high, "99"));
  EXPECT_FALSE(matches(open_high, "-100"));
}

// Number bounds, judged as a validator judges them: the text parsed to a
// double and compared with the bounds. Whatever the grammar accepts must be
// within them; every plainly written number strictly inside (its neighbouring
// doubles inside too, so no rounding question arises) must be accepted.
TEST(GrammarJsonSchema, NumberRangesAreExactAsValidatorsReadThem) {
  struct Case {
    const char* schema;
    std::function<bool(double)> ok;
  };
  const std::vector<Case> cases = {
      {R"({"type":"number","minimum":0,"maximum":1})", [](double v) { return v >= 0 && v <= 1; }},
      {R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1})", [](double v) { return v > 0 && v < 1; }},
      {R"({"type":"number","minimum":-2.5,"maximum":3.25})", [](double v) { return v >= -2.5 && v <= 3.25; }},
      {R"({"type":"number","minimum":0.1})", [](double v) { return v >= 0.1; }},
      {R"({"type":"number","maximum":-0.3})", [](double v) { return v <= -0.3; }},
      {R"({"type":"number","exclusiveMaximum":0})", [](double v) { return v < 0; }},
      {R"({"type":"number","exclusiveMinimum":0.1})", [](double v) { return v > 0.1; }},
      {R"({"type":"number","minimum":1e-7,"maximum":100})", [](double v) { return v >= 1e-7 && v <= 100; }},
      {R"({"type":"number","minimum":5,"maximum":5})", [](double v) { return v == 5; }},
      {R"({"type":"number","minimum":-1.5,"maximum":-1.25})", [](double v) { return v >= -1.5 && v <= -1.25; }},
      {R"({"type":"number","minimum":1.5,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":true})",
       [](double v) { return v > 1.5 && v < 10; }},
      {R"({"minimum":0.5})", [](double v) { return v >= 0.5; }},
      {R"({"type":"number","minimum":-100.75,"exclusiveMaximum":99.125})",
       [](double v) { return v >= -100.75 && v < 99.125; }},
      {R"({"type":"number","minimum":-1.7976931348623157e308,"maximum":1e300})", [](double) { return true; }},
      {R"({"type":"number","exclusiveMinimum":-1e21,"maximum":2.5})", [](double v) { return v > -1e21 && v <= 2.5; }},
      {R"({"type":"number","maximum":1e21})", [](double v) { return v <= 1e21; }},
      {R"({"type":"number","minimum":0.3,"maximum":0.30000000000000004})",
       [](double v) { return v >= 0.3 && v <= 0.30000000000000004; }},
  };
  const std::vector<std::string> wholes = {"0",  "1",   "2",   "3",       "4",  "5", "6", "9",
                                           "10", "99", "100", "101", "1000000", "99999999999999999999"};
  const std::vector<std::string> fractions = {"",
                                              ".0",
                                              ".00",
                                              ".1",
                                              ".09",
                                              ".099999999999999999",
                                              ".0999999999999999999999",
                                              ".10000000000000002",
                                              ".1000000000000000055511",
                                              ".10000000000000001",
                                              ".25",
                                              ".2500",
                                              ".3",
                                              ".29999999999999999",
                                              ".30000000000000001",
                                              ".30000000000000004",
                                              ".30000000000000005",
                                              ".5",
                                              ".49999999999999999",
                                              ".75",
                                              ".125",
                                              ".124",
                                              ".126",
                                              ".9999999999999999",
                                              ".99999999999999999",
                                              ".0000001",
                                              ".00000009",
                                              ".00000011",
                                              ".00000000000000000001",
                                              ".00000000000000000000",
                                              ".000000000000000000001"};
  std::vector<std::string> texts = {"-0", "-0.0", "00.5", "1.", ".5", "1e3", "+1", "0.5e1", "-", "0.-1", "1..2"};
  for (const auto& w : wholes) {
    for (const auto& f : fractions) {
      texts.push_back(w + f);
      texts.push_back("-" + w + f);
    }
  }
  // -?(0|[1-9][0-9]*)(\.[0-9]{1,20})? (std::regex trips GCC 12's uninitialized warnings under ASan)
  const auto plain_number = [](const std::string& t) {
    size_t i = t[0] == '-' ? 1 : 0;
    const size_t digits = t.find_first_not_of("0123456789", i);
    const size_t whole_end = digits == std::string::npos ? t.size() : digits;
    if (whole_end == i || (t[i] == '0' && whole_end - i > 1)) return false;
    if (whole_end == t.size()) return true;
    const size_t frac = t.size() - whole_end - 1;
    return t[whole_end] == '.' && frac >= 1 && frac <= 20 &&
           t.find_first_not_of("0123456789", whole_end + 1) == std::string::npos;
  };
  for (const auto& c : cases) {
    auto g = schema(c.schema);
    int accepted = 0;
    for (const auto& text : texts) {
      const bool match = matches(g, text);
      const double v = std::strtod(text.c_str(), nullptr);
      const bool is_plain = !text.empty() && plain_number(text) && !(v == 0 && text[0] == '-');
      if (match) {
        ++accepted;
        EXPECT_TRUE(is_plain) << c.schema << " accepts " << text;
        EXPECT_TRUE(c.ok(v)) << c.schema << " accepts " << text;
      }
      const double below = std::nextafter(v, -INFINITY), above = std::nextafter(v, INFINITY);
      if (is_plain && c.ok(v) && c.ok(below) && c.ok(above)) {
        EXPECT_TRUE(match) << c.schema << " refuses " << text;
      }
    }
    EXPECT_GT(accepted, 0) << c.schema;
  }
  // A bound past every number written still keeps exponents out (1e999 reads as infinity).
  EXPECT_FALSE(matches(schema(R"({"type":"number","maximum":1e300})"), "1e999"));
  EXPECT_TRUE(matches(schema(R"({"type":"number","maximum":1e300})"), "99999999999999999999.5"));
  // A bounded number inside an object, and as a property's type with null.
  auto g = schema(R"({"type":"object","properties":{"p":{"type":["number","null"],"minimum":0,"maximum":1}},
                      "required":["p"]})");
  EXPECT_TRUE(matches(g, R"({"p":0.25})"));
  EXPECT_TRUE(matches(g, R"({"p":null})"));
  EXPECT_FALSE(matches(g, R"({"p":1.5})"));
}

TEST(GrammarJsonSchema, EnumConstAnyOfAndNullableTypes) {
  auto e = schema(R"({"enum":["red","green","gre",1,null,{"a":[1,2]}]})");
  for (const char* ok : {R"("red")", R"("gre")", "1", "null", R"({"a": [1, 2]})"}) EXPECT_TRUE(matches(e, ok)) << ok;
  for (const char* bad : {R"("gree")", "2", R"({"a":[2,1]})", "true"}) EXPECT_FALSE(matches(e, bad)) << bad;
  auto c = schema(R"({"const":"x\ny"})");
  EXPECT_TRUE(matches(c, R"("x\ny")"));
  auto any = schema(R"({"anyOf":[{"type":"integer"},{"type":"array","items":{"type":"boolean"}}]})");
  EXPECT_TRUE(matches(any, "3"));
  EXPECT_TRUE(matches(any, "[true,false]"));
  EXPECT_FALSE(matches(any, "\"3\""));
  auto nullable = schema(R"({"type":["string","null"]})");
  EXPECT_TRUE(matches(nullable, "null"));
  EXPECT_TRUE(matches(nullable, "\"s\""));
  auto openapi = schema(R"({"type":"number","nullable":true})");
  EXPECT_TRUE(matches(openapi, "null"));
  EXPECT_TRUE(matches(openapi, "-1.5e3"));
}

// Subschemas and $ref chains compile by recursion, bounded at 128 levels: a
// chain of 1,000 $refs (20,000 in tests/e2e/test_server.py) is an error, not a crash.
TEST(GrammarJsonSchema, RefChainsDeeperThanTheLimitAreAnError) {
  const auto chain = [](int n) {
    nlohmann::ordered_json defs = nlohmann::ordered_json::object();
    const auto name = [](int i) { return std::string("a").append(std::to_string(i)); };  // (GCC 12: no false -Wrestrict)
    for (int i = 0; i < n; ++i) defs[name(i)] = {{"$ref", std::string("#/$defs/").append(name(i + 1))}};
    defs[name(n)] = {{"type", "integer"}};
    return nlohmann::ordered_json{{"$ref", "#/$defs/a0"}, {"$defs", defs}};
  };
  EXPECT_TRUE(matches(compile_json_schema(chain(120)), "12"));
  EXPECT_NE(error_of([&] { compile_json_schema(chain(1000)); }).find("deeper than 128"), std::string::npos);
  // Arrays of arrays as deep as allowed compile (each level a few frames: under ASan too), one more level is refused.
  const auto arrays = [](int n) {
    nlohmann::ordered_json s = {{"type", "integer"}};
    for (int i = 0; i < n; ++i) s = {{"type", "array"}, {"items", s}, {"maxItems", 1}};
    return s;
  };
  EXPECT_TRUE(matches(compile_json_schema(arrays(127)), std::string(127, '[') + std::string(127, ']')));
  EXPECT_NE(error_of([&] { compile_json_schema(arrays(128)); }).find("deeper than 128"), std::string::npos);
}

TEST(GrammarJsonSchema, RecursiveRefs) {
  auto g = schema(R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}}})");
  EXPECT_TRUE(matches(g, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
  EXPECT_FALSE(matches(g, R"({"v":1,"kids":[{"kids":[]}]})"));
  auto root = schema(R"({"type":"array","items":{"anyOf":[{"type":"null"},{"$ref":"#"}]}})");
  EXPECT_TRUE(matches(root, "[null,[null,[]]]"));
}

TEST(GrammarJsonSchema, AnyValueWhenUnconstrained) {
  auto g = schema("{}");
  EXPECT_TRUE(matches(g, R"({"a":[1,{"b":null}],"c":"d"})"));
  EXPECT_TRUE(matches(g, "-0.5"));
  EXPECT_FALSE(matches(g, "{'a':1}"));
  auto t = compile_json_schema(nlohmann::ordered_json(true));
  EXPECT_TRUE(matches(t, "[]"));
}

TEST(GrammarJsonSchema, WhitespaceRunsAreBounded) {
  auto g = schema(R"({"type":"array","items":{"type":"integer"}})");
  EXPECT_TRUE(matches(g, "[" + std::string(20, ' ') + "1]"));
  EXPECT_FALSE(matches(g, "[" + std::string(21, ' ') + "1]"));
}

TEST(GrammarJsonSchema, ErrorsNameTheKeywordAndPointer) {
  const auto err = [](const char* text) { return error_of([&] { schema(text); }); };
  EXPECT_NE(err(R"({"type":"object","properties":{"a":{"type":"string","contentEncoding":"base64"}}})")
                .find("unsupported keyword 'contentEncoding' at '#/properties/a/contentEncoding'"),
            std::string::npos);
  EXPECT_NE(err(R"({"type":"number","multipleOf":3})").find("'multipleOf'"), std::string::npos);
  EXPECT_NE(err(R"({"type":"array","uniqueItems":true})").find("'uniqueItems'"), std::string::npos);
  EXPECT_NE(err(R"({"type":"object","patternProperties":{}})").find("'patternProperties'"), std::string::npos);
  // Number bounds. 1e20 still bounds: 99999999999999999999.5 reads back as 1e20 (review finding).
  const std::pair<const char*, const char*> number_errors[] = {
      {R"({"type":"number","minimum":2,"maximum":1.5})", "no number satisfies the bounds"},
      {R"({"type":"number","maximum":1e16})", "'maximum' beyond 1e15 in magnitude is not supported"},
      {R"({"type":"number","minimum":1e300})", "'minimum' beyond 1e15"},
      {R"({"type":"number","exclusiveMaximum":1e20})", "beyond 1e15"},
      {R"({"type":"number","maximum":99999999999999999999})", "beyond 1e15"},
      {R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1e-30})", "at most 20 fraction"},
      {R"({"type":"number","exclusiveMinimum":"0"})", "'exclusiveMinimum' must be a number"},
  };
  for (const auto& [text, message] : number_errors) EXPECT_NE(err(text).find(message), std::string::npos) << text;
  EXPECT_NE(err(R"({"type":"string","format":"uri"})").find("unsupported format 'uri' at '#/format'"),
            std::string::npos);
  EXPECT_NE(err(R"({"$ref":"#/$defs/missing"})").find("points to nothing"), std::string::npos);
  EXPECT_NE(err(R"({"$ref":"http://example.com/s.json"})").find("only local references"), std::string::npos);
  EXPECT_NE(err(R"({"allOf":[{"type":"string"},{"minLength":1}]})").find("'allOf' with more than one"),
            std::string::npos);
  EXPECT_NE(err(R"({"type":"objekt"})").find("unknown type 'objekt'"), std::string::npos);
  EXPECT_NE(err(R"({"type":"object","required":["x"]})").find("required property 'x'"), std::string::npos);
  EXPECT_NE(err(R"({"type":"string","pattern":"(a)\\1"})").find("backreference"), std::string::npos);
  EXPECT_NE(err(R"({"type":"integer","minimum":5,"maximum":4})").find("no integer"), std::string::npos);
  EXPECT_NE(err(R"({"anyOf":[{"$ref":"#"},{"type":"null"}]})").find("left recursion"), std::string::npos);
  EXPECT_NE(err("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(err(R"({"title":"t","description":"d","$schema":"x","examples":[1],"type":"integer","default":1})"), "");
}

}  // namespace
}  // namespace nucleus::grammar

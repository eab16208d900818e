// The interpreter's API and its defences: errors and their lines, raise_exception's own error type,
// reuse of a parsed template, JSON contexts, Python number formatting, and the limits that stop a
// hostile template with an error instead of a crash or a hang. (Feature-by-feature behaviour is
// checked against jinja2 in jinja_snippets_test.cc, real templates in jinja_golden_test.cc.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "text/jinja/pystr.h"
#include "text/jinja/template.h"

namespace nucleus::jinja {
namespace {

std::string render(const std::string& src, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object(),
                   const RenderOptions& options = {}) {
  return Template::parse(src).render(ctx, options);
}

// The error a render throws, or "" when it renders.
std::string error_of(const std::string& src, const RenderOptions& options = {}) {
  try {
    render(src, nlohmann::ordered_json::object(), options);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "";
}

TEST(JinjaApi, RendersAJsonContext) {
  nlohmann::ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"bos_token", "<s>"}};
  EXPECT_EQ(render("{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}{% endfor %}", ctx),
            "<s>user: Hi");
}

TEST(JinjaApi, OrderedJsonKeepsTheClientsKeyOrder) {
  auto ordered = nlohmann::ordered_json::parse(R"({"z": 1, "a": 2})");
  EXPECT_EQ(render("{{ d|tojson }}", {{"d", ordered}}), R"({"z": 1, "a": 2})");
  // nlohmann::json sorts keys: documented on Value::from_json.
  EXPECT_EQ(
      Template::parse("{{ d|tojson }}").render(nlohmann::json{{"d", nlohmann::json::parse(R"({"z": 1, "a": 2})")}}),
      R"({"a": 2, "z": 1})");
}

TEST(JinjaApi, JsonNumbersKeepIntOrFloat) {
  auto ctx = nlohmann::ordered_json::parse(R"({"i": 3, "f": 3.0, "big": 18446744073709551615})");
  EXPECT_EQ(render("{{ i }} {{ f }} {{ i is integer }} {{ f is float }} {{ big }}", ctx),
            "3 3.0 True True 1.8446744073709552e+19");
}

// Python's ints are unbounded, ours are int64: a result or literal beyond it is a clear error
// (jinja2 prints 9223372036854775808, 18446744073709551616, 12345678901234567890), never a wrong number.
TEST(JinjaApi, IntegersBeyondInt64AreAnErrorNotAWrongNumber) {
  EXPECT_EQ(render("{{ 9223372036854775807 }}|{{ -9223372036854775807 - 1 }}"),
            "9223372036854775807|-9223372036854775808");
  const std::string overflow = "integer overflow: the result does not fit in 64 bits";
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find(overflow), std::string::npos);
  EXPECT_NE(error_of("{{ 2 ** 64 }}").find(overflow), std::string::npos);
  EXPECT_NE(error_of("{{ 4294967296 * 4294967296 }}").find(overflow), std::string::npos);
  EXPECT_NE(error_of("{{ 12345678901234567890 }}").find("integer literal 12345678901234567890 does not fit in 64 bits"),
            std::string::npos);
}

// A recursive loop that never ends is bounded like macro recursion, not a stack overflow.
TEST(JinjaApi, EndlessRecursiveLoopsAreAnError) {
  EXPECT_NE(error_of("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}").find("recursive loop nested deeper"),
            std::string::npos);
  EXPECT_EQ(render("{% for x in [[1, [2]], 3] recursive %}{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}@{{ "
                   "loop.depth }} {% endif %}{% endfor %}"),
            "1@2 2@3 3@1 ");
}

TEST(JinjaApi, AParsedTemplateRendersManyTimes) {
  Template t = Template::parse(
      "{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}"
      "{{ ns.n }}");
  EXPECT_EQ(t.render(nlohmann::ordered_json{{"xs", {1, 2}}}), "3");
  EXPECT_EQ(t.render(nlohmann::ordered_json{{"xs", {5}}}), "5");
  Template copy = t;  // shares the immutable AST
  EXPECT_EQ(copy.render(nlohmann::ordered_json{{"xs", nlohmann::ordered_json::array()}}), "0");
}

TEST(JinjaApi, RaiseExceptionCarriesExactlyTheMessage) {
  try {
    render("line one\n{{ raise_exception('System role not supported') }}");
    FAIL() << "no exception";
  } catch (const RaisedException& e) {
    EXPECT_STREQ(e.what(), "System role not supported");
    EXPECT_EQ(e.message(), "System role not supported");
    EXPECT_EQ(e.line(), 2);
  }
}

TEST(JinjaApi, ErrorsNameTheLine) {
  try {
    Template::parse("a\nb\n{% if x %}\n{{ 1 + }}\n{% endif %}");
    FAIL() << "no exception";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.line(), 4);
    EXPECT_NE(std::string(e.what()).find("line 4: "), std::string::npos) << e.what();
  }
  try {
    render("a\n\n{{ undefined_thing.attr }}");
    FAIL() << "no exception";
  } catch (const RaisedException&) {
    FAIL() << "a runtime error is not raise_exception";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.message(), "'undefined_thing' is undefined");
  }
}

TEST(JinjaApi, StrftimeNowUsesTheGivenTime) {
  RenderOptions o;
  o.now = std::tm{};
  o.now->tm_year = 124;  // 2024
  o.now->tm_mon = 1;
  o.now->tm_mday = 29;
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y') }}", nlohmann::ordered_json::object(), o), "29 Feb 2024");
  EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");  // unset: the clock
}

TEST(JinjaPython, FloatsPrintAsPythonRepr) {
  EXPECT_EQ(pystr::float_repr(0.1), "0.1");
  EXPECT_EQ(pystr::float_repr(1.0), "1.0");
  EXPECT_EQ(pystr::float_repr(-2.5), "-2.5");
  EXPECT_EQ(pystr::float_repr(1e16), "1e+16");
  EXPECT_EQ(pystr::float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(pystr::float_repr(1.5e-5), "1.5e-05");
  EXPECT_EQ(pystr::float_repr(0.0001), "0.0001");
  EXPECT_EQ(pystr::float_repr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(pystr::float_repr(5e-324), "5e-324");
  EXPECT_EQ(pystr::float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(JinjaPython, StringsIndexByCodePoint) {
  EXPECT_EQ(pystr::length("héllo 🚀"), 7u);
  EXPECT_EQ(pystr::slice("héllo", 1, 3, 1), "él");
  EXPECT_EQ(pystr::string_repr("it's"), "\"it's\"");
  EXPECT_EQ(pystr::string_repr("a\nb\\"), "'a\\nb\\\\'");
}

TEST(JinjaLimits, OutputSize) {
  RenderOptions o;
  o.limits.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(100) %}0123456789-{% endfor %}", o).find("bytes (limit)"), std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 5000 }}", o).find("bytes (limit)"), std::string::npos);
  // A string doubling itself is stopped at the limit, not when memory runs out.
  EXPECT_NE(error_of("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
                .find("bytes (limit)"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'ab' * 9223372036854775807 }}").find("limit"), std::string::npos);
}

TEST(JinjaLimits, ContainerSize) {
  EXPECT_NE(error_of("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")
                .find("items (limit)"),
            std::string::npos);
  EXPECT_NE(error_of("{{ ([1] * 100000000)|length }}").find("items (limit)"), std::string::npos);
}

TEST(JinjaLimits, LoopIterations) {
  RenderOptions o;
  o.limits.max_loop_iterations = 10000;
  EXPECT_NE(error_of("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", o)
                .find("loop iterations (limit)"),
            std::string::npos);
  EXPECT_EQ(error_of("{% for a in range(100) %}{% for b in range(99) %}{% endfor %}{% endfor %}", o), "");
}

TEST(JinjaLimits, Recursion) {
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("(limit)"), std::string::npos);
  // Mutual recursion through a caller, too.
  EXPECT_NE(
      error_of("{% macro f() %}{% call f() %}{{ caller() }}{% endcall %}{% endmacro %}{% call f() %}x{% endcall %}")
          .find("(limit)"),
      std::string::npos);
}

TEST(JinjaLimits, NestingIsBoundedAtParseTime) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(error_of(deep).find("nested too deeply"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_NE(error_of(chain + " }}").find("nested too deeply"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 1000; ++i) ifs += "{% if true %}";
  EXPECT_NE(error_of(ifs).find("nested too deeply"), std::string::npos);
  std::string filters = "{{ 'a'";
  for (int i = 0; i < 100000; ++i) filters += "|upper";
  EXPECT_NE(error_of(filters + " }}").find("nested too deeply"), std::string::npos);
}

TEST(JinjaLimits, GarbageNeverCrashes) {
  // Truncations of a real-looking template: every prefix parses or fails with a TemplateError.
  const std::string src =
      "{%- set ns = namespace(x=[]) -%}{% for m in messages if m.role != 'x' %}{{ m['content'] | trim | tojson }}"
      "{% if loop.last and m.tool_calls is defined %}{{ raise_exception('no') }}{% endif %}{% endfor %}"
      "{# comment #}{% macro f(a, b=[1, {'k': (1, 2)}]) %}{{ a ~ b[1:] }}{% endmacro %}{{ f(\"s\\\"q\") }}";
  nlohmann::ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", " hi "}}}}};
  for (size_t n = 0; n <= src.size(); ++n) {
    try {
      Template::parse(src.substr(0, n)).render(ctx);
    } catch (const TemplateError&) {
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace nucleus::jinja

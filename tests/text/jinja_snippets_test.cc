// One test per feature of the interpreter (statements, expressions, filters, tests, methods,
// whitespace rules, Python-like printing, errors): each snippet in tests/data/jinja/snippets.json
// must render what Python's jinja2 rendered (scripts/golden/jinja_snippets.py lists them, and
// gen_jinja_golden.py records jinja2's output), or fail where jinja2 failed, with the same message
// when the template's raise_exception() failed it.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/common/test_env.h"
#include "text/jinja/template.h"

namespace nucleus::jinja {
namespace {

struct Snippet {
  std::string id, source, output, error;
  bool raised = false;
  bool fails = false;
};

const nlohmann::ordered_json& data() {
  static const nlohmann::ordered_json d = [] {
    std::ifstream in(std::filesystem::path(nucleus::test::data_dir()) / "jinja" / "snippets.json");
    return nlohmann::ordered_json::parse(in);
  }();
  return d;
}

std::vector<Snippet> snippets() {
  std::vector<Snippet> out;
  for (const auto& s : data()["snippets"]) {
    Snippet x;
    x.id = s["id"];
    x.source = s["template"];
    if (s.contains("output")) {
      x.output = s["output"];
    } else {
      x.fails = true;
      x.error = s["error"];
      x.raised = s["raise_exception"];
    }
    out.push_back(std::move(x));
  }
  return out;
}

// gtest prints a failing parameter: its id, not its bytes.
void PrintTo(const Snippet& s, std::ostream* os) { *os << s.id; }

class JinjaSnippet : public testing::TestWithParam<Snippet> {};

TEST_P(JinjaSnippet, RendersAsJinja2) {
  const Snippet& s = GetParam();
  std::tm now{};
  std::istringstream(data()["strftime_now"].get<std::string>()) >> std::get_time(&now, "%Y-%m-%dT%H:%M:%S");
  RenderOptions options;
  options.now = now;
  std::string got, error;
  bool raised = false;
  try {
    got = Template::parse(s.source).render(Value::from_json(data()["context"]), options);
  } catch (const RaisedException& e) {
    error = e.what();
    raised = true;
  } catch (const TemplateError& e) {
    error = e.what();
  }
  SCOPED_TRACE("template: " + nlohmann::json(s.source).dump());
  if (!s.fails) {
    EXPECT_EQ(error, "");
    EXPECT_EQ(got, s.output);
  } else {
    EXPECT_NE(error, "") << "jinja2 failed with \"" << s.error << "\", nucleus rendered " << nlohmann::json(got).dump();
    EXPECT_EQ(raised, s.raised) << error;
    if (s.raised) {
      EXPECT_EQ(error, s.error);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Jinja, JinjaSnippet, testing::ValuesIn(snippets()),
                         [](const testing::TestParamInfo<Snippet>& info) { return info.param.id; });

}  // namespace
}  // namespace nucleus::jinja

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "text/jinja/template.h"

namespace nucleus::jinja {
namespace {

TEST(JinjaSmoke, RendersText) {
  EXPECT_EQ(Template::parse("Hello {{ name }}!").render(nlohmann::json{{"name", "world"}}), "Hello world!");
}

}  // namespace
}  // namespace nucleus::jinja

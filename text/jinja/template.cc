#include "text/jinja/template.h"

#include <nlohmann/json.hpp>

#include "text/jinja/parser.h"

namespace nucleus::jinja {

Template Template::parse(std::string_view source) {
  return Template(std::make_shared<const ast::Body>(jinja::parse(source)));
}

std::string Template::render(const Value& context, const RenderOptions& options) const {
  Interpreter interpreter(options);
  return interpreter.render(*body_, context);
}

std::string Template::render(const nlohmann::json& context, const RenderOptions& options) const {
  return render(Value::from_json(context), options);
}

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  return render(Value::from_json(context), options);
}

}  // namespace nucleus::jinja

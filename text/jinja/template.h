// Nucleus's Jinja interpreter for chat templates: the public entry point.
//
// It renders the Jinja subset that chat templates use with the environment transformers builds for
// them (ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols and
// {% generation %} extensions; raise_exception, strftime_now, namespace, dict; a tojson that keeps
// non-ASCII text, does not escape HTML and takes indent/separators/sort_keys), and is checked byte
// for byte against Python's jinja2 on llama.cpp's chat templates (tests/text/jinja_golden_test.cc).
//
//   auto t = nucleus::jinja::Template::parse(source);               // throws TemplateError
//   std::string prompt = t.render(nlohmann::json{{"messages", ...}, {"add_generation_prompt", true},
//                                                {"bos_token", "<s>"}, {"eos_token", "</s>"}});
//
// render() throws RaisedException (a TemplateError whose what() is exactly the template's message)
// when the template calls raise_exception('...'), and TemplateError for anything else: an
// undefined value used where jinja2 refuses it, a type error, a sandbox refusal, or a limit
// reached (RenderOptions::limits bounds output size, loop iterations, recursion and nesting).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "text/jinja/ast.h"
#include "text/jinja/error.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/value.h"

namespace nucleus::jinja {

class Template {
 public:
  // Parses once; the result is immutable and may be rendered from many threads at once.
  static Template parse(std::string_view source);

  // `context` is a dict of the template's variables (messages, tools, add_generation_prompt,
  // bos_token, eos_token, and any extra kwargs such as enable_thinking).
  std::string render(const Value& context, const RenderOptions& options = {}) const;
  std::string render(const nlohmann::json& context, const RenderOptions& options = {}) const;
  std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const ast::Body> body) : body_(std::move(body)) {}
  std::shared_ptr<const ast::Body> body_;
};

}  // namespace nucleus::jinja

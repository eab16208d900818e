// jinja2's tests, the `x is name(args)` predicates: defined, none, string, mapping, ...
#pragma once

#include <string>
#include <string_view>

#include "text/jinja/value.h"

namespace nucleus::jinja {

bool has_test(std::string_view name);
// Throws TemplateError("No test named ...") for an unknown name, as jinja2 does at run time.
bool run_test(Runtime& in, const std::string& name, const Value& v, Args& args);

}  // namespace nucleus::jinja

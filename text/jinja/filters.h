// jinja2's built-in filters, with transformers' tojson in place of jinja2's.
#pragma once

#include <string>
#include <string_view>

#include "text/jinja/value.h"

namespace nucleus::jinja {

bool has_filter(std::string_view name);
// Throws TemplateError("No filter named ... found.") for an unknown name, as jinja2 does at run time.
Value run_filter(Runtime& in, const std::string& name, const Value& v, Args& args);

}  // namespace nucleus::jinja

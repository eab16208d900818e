// Python's operators and protocols on Value, with jinja2's sandboxed attribute rules: what
// `a + b`, `a < b`, `x in y`, `obj.attr`, `obj[key]`, `obj[a:b]`, `for x in obj` and len(obj) do.
// Errors are TemplateErrors with Python's messages where templates might show them.
#pragma once

#include <string>
#include <vector>

#include "text/jinja/value.h"

namespace nucleus::jinja {
class Runtime;
}

namespace nucleus::jinja::ops {

// Throws the error an undefined value raises when used (UndefinedError or the sandbox's).
[[noreturn]] void fail_undefined(const Value& v);
// Throws unless v is defined: for the operations jinja2's Undefined refuses.
void require_defined(const Value& v);

// markupsafe's escape(): & < > " ' as entities.
std::string html_escape(const std::string& s);

Value binary(const std::string& op, const Value& a, const Value& b, const Runtime& in);
Value negate(const Value& v);
// op: == != < <= > >= in notin
bool compare(const std::string& op, const Value& a, const Value& b);
bool less(const Value& a, const Value& b);  // Python's <, for sorting
bool contains(const Value& container, const Value& item);

Value getattr(const Value& obj, const std::string& name);
Value getitem(const Value& obj, const Value& key);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

std::vector<Value> iterate(const Value& v);  // the items `for x in v` visits
int64_t length(const Value& v);              // len(v)

// The bound method `obj.name` of a str, dict or list (methods.cc); undefined when there is none,
// unsafe for methods that mutate (jinja2's ImmutableSandboxedEnvironment refuses those).
Value method(const Value& obj, const std::string& name);

}  // namespace nucleus::jinja::ops

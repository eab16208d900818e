#include "text/jinja/predicates.h"

#include <cmath>
#include <functional>
#include <map>

#include "text/jinja/args.h"
#include "text/jinja/filters.h"
#include "text/jinja/ops.h"
#include "text/jinja/pystr.h"

namespace nucleus::jinja {
namespace {

using TestFn = std::function<bool(const Value&, Args&)>;

bool numeric_arg(const char* name, const Value& v) {
  if (!v.is_number()) throw TemplateError(std::string(name) + ": a number is required, not " + v.type_name());
  return true;
}

TestFn compare_test(const char* op) {
  return [op](const Value& v, Args& a) { return ops::compare(op, v, bind(op, a, {"other"})[0]); };
}

const std::map<std::string, TestFn, std::less<>>& tests() {
  static const std::map<std::string, TestFn, std::less<>> t = [] {
    std::map<std::string, TestFn, std::less<>> m;
    m["defined"] = [](const Value& v, Args&) { return !v.is_undefined(); };
    m["undefined"] = [](const Value& v, Args&) { return v.is_undefined(); };
    m["none"] = [](const Value& v, Args&) { return v.is_none(); };
    m["boolean"] = [](const Value& v, Args&) { return v.is_bool(); };
    m["false"] = [](const Value& v, Args&) { return v.is_bool() && !v.as_bool(); };
    m["true"] = [](const Value& v, Args&) { return v.is_bool() && v.as_bool(); };
    m["integer"] = [](const Value& v, Args&) { return v.is_int(); };
    m["float"] = [](const Value& v, Args&) { return v.is_float(); };
    m["number"] = [](const Value& v, Args&) { return v.is_number(); };  // Python's bool is a Number
    m["string"] = [](const Value& v, Args&) { return v.is_string(); };
    m["mapping"] = [](const Value& v, Args&) { return v.is_dict(); };
    m["sequence"] = [](const Value& v, Args&) {
      return v.is_string() || v.is_dict() || v.kind() == Kind::kList || v.kind() == Kind::kTuple;
    };
    m["iterable"] = [](const Value& v, Args&) {
      return v.is_undefined() || v.is_string() || v.is_dict() || v.is_sequence_like();
    };
    m["callable"] = [](const Value& v, Args&) { return v.is_function(); };
    m["lower"] = [](const Value& v, Args&) { return pystr::is_lower(v.str()); };
    m["upper"] = [](const Value& v, Args&) { return pystr::is_upper(v.str()); };
    m["escaped"] = [](const Value&, Args&) { return false; };
    m["even"] = [](const Value& v, Args&) {
      numeric_arg("even", v);
      return v.is_float() ? std::fmod(v.as_float(), 2) == 0 : v.as_int() % 2 == 0;
    };
    m["odd"] = [](const Value& v, Args&) {
      numeric_arg("odd", v);
      return v.is_float() ? std::fabs(std::fmod(v.as_float(), 2)) == 1 : v.as_int() % 2 != 0;
    };
    m["divisibleby"] = [](const Value& v, Args& a) {
      Value n = bind("divisibleby", a, {"num"})[0];
      numeric_arg("divisibleby", v);
      numeric_arg("divisibleby", n);
      if (n.as_float() == 0) throw TemplateError("integer division or modulo by zero");
      if (v.is_float() || n.is_float()) return std::fmod(v.as_float(), n.as_float()) == 0;
      return v.as_int() % n.as_int() == 0;
    };
    m["sameas"] = [](const Value& v, Args& a) { return v.same_as(bind("sameas", a, {"other"})[0]); };
    m["in"] = [](const Value& v, Args& a) { return ops::contains(bind("in", a, {"seq"})[0], v); };
    for (const char* op : {"==", "eq", "equalto"}) m[op] = compare_test("==");
    for (const char* op : {"!=", "ne"}) m[op] = compare_test("!=");
    for (const char* op : {"<", "lt", "lessthan"}) m[op] = compare_test("<");
    for (const char* op : {"<=", "le"}) m[op] = compare_test("<=");
    for (const char* op : {">", "gt", "greaterthan"}) m[op] = compare_test(">");
    for (const char* op : {">=", "ge"}) m[op] = compare_test(">=");
    return m;
  }();
  return t;
}

}  // namespace

bool has_test(std::string_view name) { return tests().count(name) > 0 || name == "filter" || name == "test"; }

bool run_test(Runtime&, const std::string& name, const Value& v, Args& args) {
  if (name == "filter" || name == "test") {  // `'upper' is filter`: is the value a filter's name
    bind(name, args, {});
    return v.is_string() && (name == "filter" ? has_filter(v.as_string()) : has_test(v.as_string()));
  }
  auto it = tests().find(name);
  if (it == tests().end()) throw TemplateError("No test named '" + name + "' found.");
  return it->second(v, args);
}

}  // namespace nucleus::jinja

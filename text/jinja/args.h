// Binds a call's arguments to a Python-style parameter list: positional first, then keywords by
// name, then defaults; an unknown keyword, a surplus argument or a missing required one is a
// TemplateError naming the function.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "text/jinja/error.h"
#include "text/jinja/value.h"

namespace nucleus::jinja {

struct Param {
  const char* name;
  std::optional<Value> dflt;  // nullopt: required
  Param(const char* n) : name(n) {}
  Param(const char* n, Value d) : name(n), dflt(std::move(d)) {}
};

inline std::vector<Value> bind(const std::string& fn, const Args& args, std::initializer_list<Param> params) {
  std::vector<Param> ps(params);
  if (args.positional.size() > ps.size())
    throw TemplateError(fn + "() takes at most " + std::to_string(ps.size()) + " arguments (" +
                        std::to_string(args.positional.size()) + " given)");
  std::vector<std::optional<Value>> slots(ps.size());
  for (size_t i = 0; i < args.positional.size(); ++i) slots[i] = args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    size_t i = 0;
    while (i < ps.size() && key != ps[i].name) ++i;
    if (i == ps.size()) throw TemplateError(fn + "() got an unexpected keyword argument '" + key + "'");
    if (slots[i]) throw TemplateError(fn + "() got multiple values for argument '" + key + "'");
    slots[i] = value;
  }
  std::vector<Value> out;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!slots[i] && !ps[i].dflt) throw TemplateError(fn + "() missing required argument '" + ps[i].name + "'");
    out.push_back(slots[i] ? *slots[i] : *ps[i].dflt);
  }
  return out;
}

}  // namespace nucleus::jinja

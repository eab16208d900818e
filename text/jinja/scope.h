// Variables of one frame (private to the interpreter). jinja2's frames: the template's top level
// (render context and top-level sets), each loop iteration (fresh per iteration: a set inside a
// loop never leaks out, and each iteration starts from the outer values), each macro or caller
// call, and filter/set/generation blocks. `if` has no frame of its own.
#pragma once

#include <memory>
#include <string>

#include "text/jinja/value.h"

namespace nucleus::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  Dict vars;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get())
      if (const Value* v = s->vars.find(name)) return v;
    return nullptr;
  }
};

}  // namespace nucleus::jinja

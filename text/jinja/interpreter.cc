#include "text/jinja/interpreter.h"

#include "text/jinja/args.h"
#include "text/jinja/error.h"
#include "text/jinja/filters.h"
#include "text/jinja/globals.h"
#include "text/jinja/ops.h"
#include "text/jinja/predicates.h"
#include "text/jinja/scope.h"

namespace nucleus::jinja {

namespace {

std::shared_ptr<Scope> child(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

// Errors thrown below the interpreter (ops, filters) carry no line: add the statement's.
template <typename F>
auto with_line(int line, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const RaisedException&) {
    throw;
  } catch (const TemplateError& e) {
    if (e.line() > 0) throw;
    throw TemplateError(e.message(), line);
  } catch (const std::invalid_argument& e) {
    throw TemplateError(e.what(), line);
  } catch (const std::out_of_range& e) {
    throw TemplateError(e.what(), line);
  }
}

}  // namespace

Interpreter::Interpreter(const RenderOptions& options) : options_(options) {}
Interpreter::~Interpreter() = default;

void Interpreter::check_size(size_t n) const {
  if (n > options_.limits.max_output_bytes)
    throw TemplateError(
        "output or string longer than " + std::to_string(options_.limits.max_output_bytes) + " bytes (limit)", line_);
}

void Interpreter::check_items(size_t n) const {
  if (n > options_.limits.max_container_items)
    throw TemplateError(
        "list or dict of more than " + std::to_string(options_.limits.max_container_items) + " items (limit)", line_);
}

void Interpreter::count_iterations(size_t n) {
  iterations_ += static_cast<int64_t>(n);
  if (iterations_ > options_.limits.max_loop_iterations)
    throw TemplateError("more than " + std::to_string(options_.limits.max_loop_iterations) + " loop iterations (limit)",
                        line_);
}

void Interpreter::append(std::string& out, const std::string& text) const {
  check_size(out.size() + text.size());
  out += text;
}

std::string Interpreter::render(const ast::Body& body, const Value& context) {
  auto globals = std::make_shared<Scope>();
  globals->vars = make_globals(options_);
  root_ = child(globals);
  if (context.is_dict()) {
    for (const auto& [k, v] : context.as_dict().items) root_->vars.set(k, v);
  } else if (!context.is_undefined() && !context.is_none()) {
    throw TemplateError("the render context must be a dict");
  }
  std::string out;
  auto scope = root_;
  exec(body, scope, out);
  root_.reset();
  return out;
}

Interpreter::Flow Interpreter::exec(const ast::Body& body, std::shared_ptr<Scope>& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_stmt(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out) {
  using T = ast::Stmt::Type;
  line_ = s.line;
  DepthGuard guard(*this, s.line);
  switch (s.type) {
    case T::kText:
      append(out, s.text);
      break;
    case T::kOutput: {
      Value v = eval(*s.expr, *scope);
      append(out, with_line(s.line, [&] { return v.str(); }));
      break;
    }
    case T::kIf:
      for (const auto& [test, body] : s.branches)
        if (eval(*test, *scope).truthy()) return exec(body, scope, out);
      return exec(s.else_body, scope, out);
    case T::kFor:
      exec_for(s, scope, out);
      break;
    case T::kSet:
      assign(s.target, eval(*s.expr, *scope), *scope);
      break;
    case T::kSetBlock: {
      auto inner = child(scope);
      std::string text;
      exec(s.body, inner, text);
      Value v(std::move(text));
      if (s.filter) {
        // The chain's innermost subject is null: it stands for the block's text.
        std::vector<const ast::Expr*> chain;
        for (const ast::Expr* f = s.filter.get(); f; f = f->children[0].get()) chain.insert(chain.begin(), f);
        for (const ast::Expr* f : chain) {
          Args args = eval_args(*f, 1, *inner);
          v = apply_filter(f->name, v, args);
        }
      }
      assign(s.target, v, *scope);
      break;
    }
    case T::kMacro:
      scope->vars.set(s.macro->name, make_macro(s.macro, scope));
      break;
    case T::kCallBlock: {
      Value caller = make_macro(s.macro, scope);
      const ast::Expr& call = *s.expr;
      Value fn = eval(*call.children[0], *scope);
      Args args = eval_args(call, 1, *scope);
      args.keyword.emplace_back("caller", caller);
      Value r = with_line(s.line, [&] { return this->call(fn, args); });
      append(out, r.str());
      break;
    }
    case T::kFilterBlock: {
      auto inner = child(scope);
      std::string text;
      exec(s.body, inner, text);
      Value v(std::move(text));
      std::vector<const ast::Expr*> chain;
      for (const ast::Expr* f = s.filter.get(); f; f = f->children[0].get()) chain.insert(chain.begin(), f);
      for (const ast::Expr* f : chain) {
        Args args = eval_args(*f, 1, *inner);
        v = apply_filter(f->name, v, args);
      }
      append(out, v.str());
      break;
    }
    case T::kBreak:
      return Flow::kBreak;
    case T::kContinue:
      return Flow::kContinue;
    case T::kScope: {
      auto inner = child(scope);
      exec(s.body, inner, out);
      break;
    }
    case T::kWith:
      exec_with(s, scope, out);
      break;
  }
  return Flow::kNormal;
}

void Interpreter::exec_for(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out) {
  run_loop(s, eval(*s.expr, *scope), scope, out, 1);
}

void Interpreter::exec_with(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out) {
  // jinja2 evaluates every value in the enclosing frame before binding any: `{% with a = 1, b = a %}`
  // gives b the outer a.
  std::vector<Value> values;
  for (const auto& [target, expr] : s.assignments) values.push_back(eval(*expr, *scope));
  auto inner = child(scope);
  for (size_t i = 0; i < values.size(); ++i) assign(s.assignments[i].first, values[i], *inner);
  exec(s.body, inner, out);
}

void Interpreter::run_loop(const ast::Stmt& s, const Value& iterable, const std::shared_ptr<Scope>& scope,
                           std::string& out, int64_t depth) {
  std::vector<Value> items = with_line(s.line, [&] { return ops::iterate(iterable); });
  if (s.filter) {
    // `for x in xs if cond`: the filter sees each item bound, before loop variables exist.
    std::vector<Value> kept;
    for (const Value& item : items) {
      count_iterations(1);
      auto probe = child(scope);
      assign(s.target, item, *probe);
      if (eval(*s.filter, *probe).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    auto inner = child(scope);
    exec(s.else_body, inner, out);
    return;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  auto cycle_index = std::make_shared<int64_t>(0);
  auto last_changed = std::make_shared<std::optional<Value>>();
  for (int64_t i = 0; i < n; ++i) {
    count_iterations(1);
    auto inner = child(scope);
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(depth));
    loop.set("depth0", Value(depth - 1));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    *cycle_index = i;
    loop.set("cycle", Value::function("cycle", [cycle_index](Runtime&, Args& args) {
               if (args.positional.empty()) throw TemplateError("no items for cycling given");
               return args.positional[static_cast<size_t>(*cycle_index) % args.positional.size()];
             }));
    loop.set("changed", Value::function("changed", [last_changed](Runtime&, Args& args) {
               Value v = Value::list(args.positional);
               if (*last_changed && (*last_changed)->equals(v)) return Value(false);
               *last_changed = v;
               return Value(true);
             }));
    if (s.recursive) {
      // loop(children) renders the loop's body over `children`, one level deeper, and returns the text.
      // "__call__" cannot be read by a template (dunder attributes are refused); call() looks it up.
      // A weak frame, as for macros: a `loop` stored in a namespace must not keep its frame alive.
      std::weak_ptr<Scope> frame = scope;
      loop.set("__call__", Value::function("loop", [this, &s, frame, depth](Runtime&, Args& args) {
                 auto a = bind("loop", args, {"iterable"});
                 // Each level recurses on the C++ stack, as macro calls do: bounded the same way.
                 if (depth >= options_.limits.max_call_depth) {
                   throw TemplateError("recursive loop nested deeper than " +
                                           std::to_string(options_.limits.max_call_depth) + " (limit)",
                                       s.line);
                 }
                 std::shared_ptr<Scope> parent = frame.lock();
                 if (!parent) parent = root_;
                 std::string text;
                 run_loop(s, a[0], parent, text, depth + 1);
                 return Value(std::move(text));
               }));
    }
    inner->vars.set("loop", Value::namespace_(std::move(loop)));
    assign(s.target, items[i], *inner);
    if (exec(s.body, inner, out) == Flow::kBreak) break;
  }
}

void Interpreter::assign(const ast::Target& t, const Value& value, Scope& scope) {
  if (!t.attr.empty()) {
    const Value* ns = scope.find(t.names[0]);
    if (!ns || !ns->is_namespace()) throw TemplateError("cannot assign attribute on non-namespace object", line_);
    if (t.attr[0] == '_')
      throw TemplateError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                              t.attr + "'. Please rename the attribute.",
                          line_);
    ns->as_dict().set(t.attr, value);
    return;
  }
  if (!t.tuple) {
    scope.vars.set(t.names[0], value);
    return;
  }
  std::vector<Value> parts = with_line(line_, [&] { return ops::iterate(value); });
  if (parts.size() != t.names.size())
    throw TemplateError(parts.size() < t.names.size()
                            ? "not enough values to unpack (expected " + std::to_string(t.names.size()) + ", got " +
                                  std::to_string(parts.size()) + ")"
                            : "too many values to unpack (expected " + std::to_string(t.names.size()) + ")",
                        line_);
  for (size_t i = 0; i < parts.size(); ++i) scope.vars.set(t.names[i], parts[i]);
}

Args Interpreter::eval_args(const ast::Expr& e, size_t first, Scope& scope) {
  Args args;
  for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(eval(*e.children[i], scope));
  if (e.dyn_args) {
    Value extra = eval(*e.dyn_args, scope);
    for (const Value& v : with_line(e.line, [&] { return ops::iterate(extra); })) args.positional.push_back(v);
  }
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  if (e.dyn_kwargs) {
    Value extra = eval(*e.dyn_kwargs, scope);
    if (!extra.is_dict()) throw TemplateError("argument after ** must be a mapping", e.line);
    for (const auto& [k, v] : extra.as_dict().items) args.keyword.emplace_back(k.str(), v);
  }
  return args;
}

Value Interpreter::call(const Value& fn, Args& args) {
  if (fn.is_undefined()) ops::fail_undefined(fn);
  if (fn.is_namespace())
    if (const Value* f = fn.as_dict().find("__call__")) return call(*f, args);  // a recursive loop's `loop`
  if (!fn.is_function()) throw TemplateError("'" + fn.type_name() + "' object is not callable", line_);
  return fn.as_function().call(*this, args);
}

Value Interpreter::apply_filter(const std::string& name, const Value& subject, Args& args) {
  return run_filter(*this, name, subject, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& subject, Args& args) {
  return run_test(*this, name, subject, args);
}

Value Interpreter::make_macro(std::shared_ptr<ast::MacroDef> def, const std::shared_ptr<Scope>& scope) {
  // The macro sees its defining frame's variables as they are when it runs (jinja2's closures);
  // a weak reference, because the frame usually holds the macro itself.
  std::weak_ptr<Scope> closure = scope;
  return Value::function(def->name,
                         [def, closure](Runtime& rt, Args& args) {
                           // Only an Interpreter runs templates, and a macro is called within its own render.
                           return static_cast<Interpreter&>(rt).call_macro(*def, closure, args);
                         });
}

Value Interpreter::call_macro(const ast::MacroDef& def, const std::weak_ptr<Scope>& closure, Args& args) {
  if (call_depth_ >= options_.limits.max_call_depth)
    throw TemplateError("macro calls nested deeper than " + std::to_string(options_.limits.max_call_depth) + " (limit)",
                        line_);
  std::shared_ptr<Scope> parent = closure.lock();
  if (!parent) parent = root_;
  auto scope = child(parent);
  std::vector<bool> bound(def.params.size(), false);
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < def.params.size()) {
      scope->vars.set(def.params[i].first, args.positional[i]);
      bound[i] = true;
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  Dict kwargs;
  Value caller;
  for (auto& [k, v] : args.keyword) {
    size_t i = 0;
    while (i < def.params.size() && def.params[i].first != k) ++i;
    if (i < def.params.size()) {
      if (bound[i]) throw TemplateError("macro '" + def.name + "' got multiple values for argument '" + k + "'", line_);
      scope->vars.set(k, v);
      bound[i] = true;
    } else if (k == "caller") {
      caller = v;
    } else {
      kwargs.set(k, v);
    }
  }
  if (!varargs.empty() && !def.uses_varargs)
    throw TemplateError(
        "macro '" + def.name + "' takes not more than " + std::to_string(def.params.size()) + " argument(s)", line_);
  if (!kwargs.items.empty() && !def.uses_kwargs)
    throw TemplateError("macro '" + def.name + "' takes no keyword argument '" + kwargs.items[0].first.str() + "'",
                        line_);
  if (!caller.is_undefined() && !def.uses_caller)
    throw TemplateError("macro '" + def.name + "' was invoked with two values for the special caller argument", line_);
  for (size_t i = 0; i < def.params.size(); ++i) {
    if (bound[i]) continue;
    // Defaults are evaluated in the macro's frame, so they can use the arguments before them.
    scope->vars.set(def.params[i].first, def.params[i].second
                                             ? eval(*def.params[i].second, *scope)
                                             : Value::undefined("'" + def.params[i].first + "' is undefined"));
  }
  scope->vars.set("varargs", Value::tuple(std::move(varargs)));
  scope->vars.set("kwargs", Value::dict(std::move(kwargs)));
  if (!caller.is_undefined()) scope->vars.set("caller", caller);
  int saved_line = line_;
  ++call_depth_;
  std::string out;
  try {
    exec(def.body, scope, out);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  line_ = saved_line;
  return Value(std::move(out));
}

}  // namespace nucleus::jinja

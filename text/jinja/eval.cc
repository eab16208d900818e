// Interpreter::eval: one expression node to a Value, following jinja2's node semantics.
#include "text/jinja/error.h"
#include "text/jinja/interpreter.h"
#include "text/jinja/ops.h"
#include "text/jinja/scope.h"

namespace nucleus::jinja {

Interpreter::DepthGuard::DepthGuard(Interpreter& in, int line) : in_(in) {
  if (++in_.eval_depth_ > in_.options_.limits.max_eval_depth) {
    --in_.eval_depth_;
    throw TemplateError("statements, expressions or calls nested deeper than " +
                            std::to_string(in_.options_.limits.max_eval_depth) + " (limit)",
                        line);
  }
}

Value Interpreter::eval(const ast::Expr& e, Scope& scope) {
  DepthGuard guard(*this, e.line);
  try {
    return eval_inner(e, scope);
  } catch (const RaisedException& err) {
    if (err.line() > 0) throw;
    throw RaisedException(err.message(), e.line);
  } catch (const TemplateError& err) {
    if (err.line() > 0) throw;
    throw TemplateError(err.message(), e.line);
  } catch (const std::invalid_argument& err) {
    throw TemplateError(err.what(), e.line);
  }
}

Value Interpreter::eval_inner(const ast::Expr& e, Scope& scope) {
  using T = ast::Expr::Type;
  switch (e.type) {
    case T::kConst:
      return e.value;
    case T::kName:
      if (const Value* v = scope.find(e.name)) return *v;
      return Value::undefined("'" + e.name + "' is undefined");
    case T::kGetattr:
      return ops::getattr(eval(*e.children[0], scope), e.name);
    case T::kGetitem: {
      Value obj = eval(*e.children[0], scope);
      const ast::Expr& key = *e.children[1];
      if (key.type != T::kSlice) return ops::getitem(obj, eval(key, scope));
      auto bound = [&](size_t i) { return key.children[i] ? eval(*key.children[i], scope) : Value(nullptr); };
      return ops::slice(obj, bound(0), bound(1), bound(2));
    }
    case T::kSlice:
      throw TemplateError("a slice is only valid inside []");
    case T::kList:
    case T::kTuple: {
      std::vector<Value> items;
      items.reserve(e.children.size());
      for (const auto& c : e.children) items.push_back(eval(*c, scope));
      return e.type == T::kList ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case T::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value k = eval(*e.children[i], scope);
        d.set(std::move(k), eval(*e.children[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case T::kBinary: {
      Value l = eval(*e.children[0], scope);
      Value r = eval(*e.children[1], scope);
      return ops::binary(e.name, l, r, *this);
    }
    case T::kUnary: {
      Value v = eval(*e.children[0], scope);
      if (e.name == "not") return Value(!v.truthy());
      if (e.name == "-") return ops::negate(v);
      ops::require_defined(v);
      if (!v.is_number()) throw TemplateError("bad operand type for unary +: '" + v.type_name() + "'");
      return v.is_float() ? v : Value(v.as_int());
    }
    case T::kCompare: {
      Value left = eval(*e.children[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.children[i + 1], scope);
        if (!ops::compare(e.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case T::kAnd: {
      Value l = eval(*e.children[0], scope);
      return l.truthy() ? eval(*e.children[1], scope) : l;
    }
    case T::kOr: {
      Value l = eval(*e.children[0], scope);
      return l.truthy() ? l : eval(*e.children[1], scope);
    }
    case T::kCond:
      if (eval(*e.children[0], scope).truthy()) return eval(*e.children[1], scope);
      if (e.children[2]) return eval(*e.children[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    case T::kConcat: {
      std::string out;
      for (const auto& c : e.children) {
        out += eval(*c, scope).str();
        check_size(out.size());
      }
      return Value(std::move(out));
    }
    case T::kCall: {
      Value fn = eval(*e.children[0], scope);
      Args args = eval_args(e, 1, scope);
      return call(fn, args);
    }
    case T::kFilter: {
      Value subject = eval(*e.children[0], scope);
      Args args = eval_args(e, 1, scope);
      return apply_filter(e.name, subject, args);
    }
    case T::kTest: {
      Value subject = eval(*e.children[0], scope);
      Args args = eval_args(e, 1, scope);
      return Value(apply_test(e.name, subject, args) != e.negated);
    }
  }
  return Value();
}

}  // namespace nucleus::jinja

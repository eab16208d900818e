// The parsed template: statements holding expressions, mirroring jinja2's nodes closely enough
// that the evaluator can follow jinja2's semantics node by node.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace nucleus::jinja::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Type {
    kConst,    // value
    kName,     // name
    kGetattr,  // children[0].name
    kGetitem,  // children[0][children[1]]; children[1] may be a kSlice
    kSlice,    // children: start, stop, step (each may be null)
    kList,     // children: items
    kTuple,    // children: items
    kDict,     // children: key0, value0, key1, value1, ...
    kBinary,   // name: + - * / // % ** ; children: left, right
    kUnary,    // name: - + not ; children: operand
    kCompare,  // children: first, then one operand per ops[i]
    kAnd,      // children: left, right
    kOr,
    kCond,    // children: test, then, else (else may be null: undefined when the test fails)
    kConcat,  // children: operands of ~
    kCall,    // children: callee, positional args...; kwargs; dyn_args (*x), dyn_kwargs (**x)
    kFilter,  // name; children: subject (null inside a filter block / set block), positional args...
    kTest,    // name; children: subject, positional args...; negated
  };

  Type type;
  int line = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;  // kCompare: == != < <= > >= in notin
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args, dyn_kwargs;
  bool negated = false;
};

// Where an assignment or a loop stores: `x`, `a, b`, or a namespace attribute `ns.x`.
struct Target {
  std::vector<std::string> names;  // one name, or the names of a tuple
  bool tuple = false;
  std::string attr;  // non-empty: names[0].attr (namespace attribute)
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct MacroDef {
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  Body body;
  // Whether the body reads these names: jinja2 only accepts extra positional args, extra keyword
  // args, or a caller when it does.
  bool uses_varargs = false, uses_kwargs = false, uses_caller = false;
};

struct Stmt {
  enum class Type {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // branches (test, body), else_body
    kFor,          // target, expr (iterable), filter, body, else_body
    kSet,          // target, expr
    kSetBlock,     // target, filter (chain with a null innermost subject, may be null), body
    kMacro,        // macro
    kCallBlock,    // expr (the call), macro (the caller: params and body)
    kFilterBlock,  // filter, body
    kBreak,
    kContinue,
    kScope,  // body in its own scope: transformers' {% generation %}
    kWith,   // assignments (evaluated in the enclosing frame, bound in an inner one), body
  };

  Type type;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<Target, ExprPtr>> assignments;  // kWith
  bool recursive = false;                                // kFor: `for ... recursive`, callable as loop(...)
  Body body;
  Body else_body;
  std::shared_ptr<MacroDef> macro;  // shared: a macro value outlives the render that defined it
};

}  // namespace nucleus::jinja::ast

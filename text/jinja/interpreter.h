// Renders a parsed template: jinja2's runtime semantics (scopes, loops, macros, calls, undefined
// values) over Value. One Interpreter renders one template once; it is not thread-safe, but a
// parsed template can be rendered by many interpreters at once.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "text/jinja/ast.h"
#include "text/jinja/runtime.h"
#include "text/jinja/value.h"

namespace nucleus::jinja {

struct Scope;

class Interpreter final : public Runtime {
 public:
  explicit Interpreter(const RenderOptions& options);
  ~Interpreter();

  // `context` must be a dict (or undefined for none): its keys are the template's variables.
  std::string render(const ast::Body& body, const Value& context);

  // Calls a function value (global, macro, bound method); errors name `line` when thrown.
  Value call(const Value& fn, Args& args) override;
  Value apply_filter(const std::string& name, const Value& subject, Args& args) override;
  bool apply_test(const std::string& name, const Value& subject, Args& args) override;

  const RenderOptions& options() const override { return options_; }
  int line() const override { return line_; }
  void check_size(size_t n) const override;
  void check_items(size_t n) const override;
  void count_iterations(size_t n) override;

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  // Counts one level of C++ recursion (a statement or an expression being evaluated).
  class DepthGuard {
   public:
    DepthGuard(Interpreter& in, int line);
    ~DepthGuard() { --in_.eval_depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Interpreter& in_;
  };

  Flow exec(const ast::Body& body, std::shared_ptr<Scope>& scope, std::string& out);
  Flow exec_stmt(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out);
  void exec_for(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out);
  // One run of a for loop over `iterable`; a recursive loop's loop(...) runs it again one level deeper.
  void run_loop(const ast::Stmt& s, const Value& iterable, const std::shared_ptr<Scope>& scope, std::string& out,
                int64_t depth);
  void exec_with(const ast::Stmt& s, std::shared_ptr<Scope>& scope, std::string& out);
  void assign(const ast::Target& target, const Value& value, Scope& scope);
  Value eval(const ast::Expr& e, Scope& scope);
  Value eval_inner(const ast::Expr& e, Scope& scope);
  Args eval_args(const ast::Expr& e, size_t first, Scope& scope);
  Value make_macro(std::shared_ptr<ast::MacroDef> def, const std::shared_ptr<Scope>& scope);
  Value call_macro(const ast::MacroDef& def, const std::weak_ptr<Scope>& closure, Args& args);
  void append(std::string& out, const std::string& text) const;

  RenderOptions options_;
  std::shared_ptr<Scope> root_;
  int line_ = 0;
  int call_depth_ = 0;
  int eval_depth_ = 0;
  int64_t iterations_ = 0;
};

}  // namespace nucleus::jinja

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
#include "text/jinja/value.h"

namespace nucleus::jinja {

// Bounds that stop a hostile template with a TemplateError instead of exhausting the server.
struct Limits {
  size_t max_output_bytes = 16 << 20;       // any one string, including the whole output
  size_t max_container_items = 1 << 20;     // any one list or dict built by the template
  int64_t max_loop_iterations = 1'000'000;  // summed over all loops of one render
  int max_call_depth = 64;                  // nested macro calls (recursion)
  int max_eval_depth = 1000;                // nested statements + expressions being evaluated (C++ stack)
};

struct RenderOptions {
  Limits limits;
  // What strftime_now() formats; unset: the local time when it is called.
  std::optional<std::tm> now;
};

struct Scope;

class Interpreter {
 public:
  explicit Interpreter(const RenderOptions& options);
  ~Interpreter();

  // `context` must be a dict (or undefined for none): its keys are the template's variables.
  std::string render(const ast::Body& body, const Value& context);

  // Calls a function value (global, macro, bound method); errors name `line` when thrown.
  Value call(const Value& fn, Args& args);
  Value apply_filter(const std::string& name, const Value& subject, Args& args);
  bool apply_test(const std::string& name, const Value& subject, Args& args);

  const RenderOptions& options() const { return options_; }
  int line() const { return line_; }
  // Throw a TemplateError at the current line when a string of n bytes / a container of n items
  // would exceed the limits.
  void check_size(size_t n) const;
  void check_items(size_t n) const;
  void count_iterations(size_t n);

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

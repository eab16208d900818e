// What filters, tests, operators, methods and globals need from the running
// interpreter: calling back into the template (a macro passed to a filter, a
// filter or test named by another) and the render's limits. Interpreter
// implements it; through this interface those files stay below the interpreter
// instead of including it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

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

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Calls a function value (global, macro, bound method); errors name the current line.
  virtual Value call(const Value& fn, Args& args) = 0;
  virtual Value apply_filter(const std::string& name, const Value& subject, Args& args) = 0;
  virtual bool apply_test(const std::string& name, const Value& subject, Args& args) = 0;

  virtual const RenderOptions& options() const = 0;
  virtual int line() const = 0;
  // Throw a TemplateError at the current line when a string of n bytes / a container of n items
  // would exceed the limits.
  virtual void check_size(size_t n) const = 0;
  virtual void check_items(size_t n) const = 0;
  virtual void count_iterations(size_t n) = 0;
};

}  // namespace nucleus::jinja

// The two errors a template can raise. Both carry the template line where known (0 if not).
#pragma once

#include <stdexcept>
#include <string>

namespace nucleus::jinja {

// A syntax error, a runtime error (undefined attribute of an undefined value, a type error, a
// sandbox refusal), or a limit reached. what() is "line N: message" (or the message alone when the
// line is unknown); message() is the message alone.
class TemplateError : public std::runtime_error {
 public:
  explicit TemplateError(const std::string& message, int line = 0)
      : std::runtime_error(line > 0 ? "line " + std::to_string(line) + ": " + message : message),
        message_(message),
        line_(line) {}
  const std::string& message() const { return message_; }
  int line() const { return line_; }

 protected:
  // For RaisedException, whose what() is the template's own text, untouched.
  TemplateError(const std::string& what, const std::string& message, int line)
      : std::runtime_error(what), message_(message), line_(line) {}

 private:
  std::string message_;
  int line_;
};

// The template called raise_exception('msg'): what() and message() are exactly 'msg', which the
// server returns to the client (a 400: the conversation is what the template refuses).
class RaisedException : public TemplateError {
 public:
  explicit RaisedException(const std::string& message, int line = 0) : TemplateError(message, message, line) {}
};

}  // namespace nucleus::jinja

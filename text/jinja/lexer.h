// Splits a template into text and the tokens of its tags, applying the whitespace rules of
// transformers' environment (trim_blocks, lstrip_blocks, `-`/`+` markers) the way jinja2's
// lexer does, so the text tokens are already exactly what gets printed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::jinja {

enum class Tok {
  kText,        // literal template text (whitespace control already applied)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // text holds the unescaped value
  kInt,
  kFloat,
  kOp,  // text holds the operator: + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }
  kEof,
};

struct Token {
  Tok type;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

// Throws TemplateError for an unterminated tag, comment or string, or an unexpected character.
std::vector<Token> tokenize(std::string_view source);

}  // namespace nucleus::jinja

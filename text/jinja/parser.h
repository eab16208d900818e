// Builds the AST from the lexer's tokens, following jinja2's grammar and operator precedence
// (parser.py): conditional expression < or < and < not < comparisons < + - < ~ < * / // % <
// ** (left-associative, as in jinja2) < unary minus < postfix (. [] ()) and filters/tests.
#pragma once

#include <string_view>

#include "text/jinja/ast.h"

namespace nucleus::jinja {

// Throws TemplateError with the line for a syntax error, an unknown tag, or a filter or test that
// does not exist where jinja2 checks at compile time (outside any if/conditional expression).
ast::Body parse(std::string_view source);

}  // namespace nucleus::jinja

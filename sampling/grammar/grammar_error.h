// The one error type of the grammar engine. It derives from std::invalid_argument
// because the server turns those into HTTP 400s, and every message names the
// offending construct (a GBNF rule, a JSON Schema keyword and its pointer, a
// regex feature) so that the client can fix its request.
#pragma once

#include <stdexcept>

namespace nucleus::grammar {

class GrammarError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace nucleus::grammar

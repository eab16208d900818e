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

// How deep groups may nest in a regex or a GBNF rule: their parsers recurse
// per group, and a request of a few hundred KB of '(' must not overflow the
// stack of the thread that compiles it.
inline constexpr int kMaxGroupDepth = 256;

}  // namespace nucleus::grammar

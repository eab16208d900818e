// Helpers shared by the grammar tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sampling/grammar/grammar_error.h"
#include "sampling/grammar/grammar_state.h"

namespace nucleus::grammar::testing {

inline bool matches(const std::shared_ptr<const CompiledGrammar>& g, std::string_view text) {
  GrammarState s(g);
  return s.accept_bytes(text) && s.can_end();
}

// The GrammarError message of `compile()`, or "" when it compiles.
template <typename F>
std::string error_of(F compile) {
  try {
    compile();
  } catch (const GrammarError& e) {
    return e.what();
  }
  return "";
}

}  // namespace nucleus::grammar::testing

// Rewrites applied to the IR before it runs.
#pragma once

#include <vector>

#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

// Rules that can match the empty string (fixpoint).
std::vector<bool> nullable_rules(const Grammar& g);

// In every x* whose x can match the empty string ((a?)*, (a*|b)*), replaces x
// by its non-empty part: the same language, and no loop that consumes nothing.
// The non-empty part of a sequence e1 e2 .. en is ne(e1) e2 .. en | ne(e2 .. en)
// when e1 is nullable (e1 matched empty), of a rule the union over its alternatives.
void remove_empty_loops(Grammar& g);

}  // namespace nucleus::grammar

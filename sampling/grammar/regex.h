// Regular expressions to the grammar IR, for guided_regex and for a JSON
// Schema "pattern". The usual syntax: literals and escapes, '.', classes
// ([a-z], [^...], \d \w \s and their negations), quantifiers * + ? {m} {m,}
// {m,n} {,n} (lazy forms accepted and treated as greedy: a mask has no
// preference), alternation, groups ( ), (?: ), (?P<name> ), (?<name> ), and
// '^' / '$' at the very start / end. Lookaround, backreferences, word
// boundaries, inline flags and possessive quantifiers are a GrammarError naming
// them.
//
// Character semantics, chosen so that everything the grammar allows also
// matches under Python's `re` and ECMA-262: '.' is any code point but '\n';
// \d \w \s are their ASCII sets, and \D \W \S are the ASCII characters
// (printable, \t \n \r) outside them.
#pragma once

#include <memory>
#include <string_view>

#include "sampling/grammar/compiled_grammar.h"
#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

struct RegexOptions {
  // The text is the inside of a JSON string: each matched character is
  // written the way JSON requires (escaped quotes, backslashes, controls).
  bool json_string = false;
  // re.search semantics (a JSON Schema "pattern"): without '^' any text may come
  // before the match, without '$' any text after it. Otherwise a whole-string match.
  bool search = false;
};

// Adds the rules for `pattern` to `g` and returns the element that matches it.
Element add_regex(Grammar& g, std::string_view pattern, const RegexOptions& options = {});
std::shared_ptr<const CompiledGrammar> compile_regex(std::string_view pattern);

}  // namespace nucleus::grammar

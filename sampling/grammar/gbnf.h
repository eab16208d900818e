// GBNF, llama.cpp's grammar format, to the grammar IR:
//   root ::= item ("," item)*      # comments run to the end of the line
//   item ::= "lit\n" | [a-z0-9_] | [^"\\] | . | ( group ) | name
// with postfix * + ? {m} {m,} {m,n}, string escapes \n \r \t \\ \" \xHH
// \uHHHH \UHHHHHHHH (code points, written as UTF-8), and classes over code
// points. As in llama.cpp a rule may span lines; a new rule starts where a
// name is followed by '::='. The grammar starts at 'root'.
#pragma once

#include <memory>
#include <string_view>

#include "sampling/grammar/compiled_grammar.h"
#include "sampling/grammar/ir.h"

namespace nucleus::grammar {

// Throws GrammarError naming the problem and its line:column, or the undefined/left-recursive rule.
Grammar parse_gbnf(std::string_view text);
std::shared_ptr<const CompiledGrammar> compile_gbnf(std::string_view text);

}  // namespace nucleus::grammar

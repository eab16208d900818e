// A choice (vLLM's guided_choice): the output is exactly one of the strings.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sampling/grammar/compiled_grammar.h"

namespace nucleus::grammar {

// Throws GrammarError for an empty list. Duplicates are fine; an empty string is a valid option.
std::shared_ptr<const CompiledGrammar> compile_choice(const std::vector<std::string>& options);

}  // namespace nucleus::grammar

#include "sampling/grammar/choice.h"

#include "sampling/grammar/grammar_error.h"

namespace nucleus::grammar {

std::shared_ptr<const CompiledGrammar> compile_choice(const std::vector<std::string>& options) {
  if (options.empty()) throw GrammarError("choice: the list of options is empty");
  Grammar g;
  const uint32_t root = g.new_rule("root");
  g.add_alternative(root, {g.one_of(options, "choice")});
  g.set_root(root);
  return CompiledGrammar::compile(g);
}

}  // namespace nucleus::grammar

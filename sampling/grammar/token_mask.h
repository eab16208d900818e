// Which tokens of a vocabulary may come next under a grammar: 1 where every
// byte of the token is accepted from the state, end-of-generation tokens
// exactly where the grammar may end, special tokens never.
//
// The vocabulary's byte trie is built once (token_trie.h), so tokens share the
// work of their common prefix, and once a prefix is refused every token under
// it is skipped. Each trie edge is one lookup in the grammar's lazily built
// automaton (automaton.h), and whole masks are cached per automaton state, so
// a state seen before costs a copy.
//
// One GrammarTokenMask per vocabulary (per loaded model); fill() may be called
// from several threads (it locks the grammar's automaton, not the mask).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sampling/grammar/grammar_state.h"
#include "sampling/grammar/token_trie.h"

namespace nucleus::grammar {

struct Vocabulary {
  std::vector<std::string> tokens;         // tokens[id]: the bytes the token stands for
  std::vector<int32_t> end_of_generation;  // allowed exactly when the grammar can end
  std::vector<int32_t> never_allowed;      // special/control tokens (tokens with no bytes are never allowed either)
  int32_t rows = 0;                        // mask length, >= tokens.size() (0: tokens.size()); extra rows stay 0
};

class GrammarTokenMask {
 public:
  explicit GrammarTokenMask(const Vocabulary& vocab);

  // mask.size() becomes rows(); mask[id] = 1 where token id may be sampled after `state`.
  void fill(const GrammarState& state, std::vector<uint8_t>& mask) const;
  int32_t rows() const { return rows_; }

 private:
  void compute(Automaton& automaton, int32_t start, std::vector<uint64_t>& bits) const;

  int32_t rows_ = 0;
  uint64_t owner_ = 0;              // this vocabulary's key in the automata's mask caches
  TokenTrie trie_;  // the plain tokens (not special, not end-of-generation, with bytes)
  std::vector<int32_t> end_ids_;
};

}  // namespace nucleus::grammar

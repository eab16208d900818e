// JSON mode: which tokens may come next so that the text stays one valid JSON
// object (sampling/json_grammar.h). The mask is recomputed for every sampled
// position of a JSON-mode sequence, over the whole vocabulary.
//
// The vocabulary's byte strings are sorted once, so consecutive tokens share
// the work of their common prefix, and once a prefix fails every token that
// starts with it is ruled out without stepping: about one recognizer step per
// trie node instead of one per byte of every token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sampling/json_grammar.h"
#include "sampling/sorted_vocabulary.h"

namespace nucleus {

class Tokenizer;

class JsonTokenMask {
 public:
  // `vocab`: the model's logit rows (>= the tokenizer's vocabulary; ids beyond it are never allowed).
  JsonTokenMask(const Tokenizer& tokenizer, int32_t vocab);

  // mask[vocab]: 1 where the token may be sampled after `state`. End-of-
  // generation tokens are allowed exactly when the object is complete (and
  // then nothing else is); other special tokens never.
  void fill(const sampling::JsonState& state, std::vector<uint8_t>& mask) const;

 private:
  int32_t vocab_ = 0;
  sampling::SortedVocabulary sorted_;  // plain-text tokens with a non-empty piece
  std::vector<int32_t> end_ids_;    // end-of-generation ids
};

}  // namespace nucleus

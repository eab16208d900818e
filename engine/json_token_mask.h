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
  std::vector<int32_t> order_;      // plain-text tokens with a non-empty piece, sorted by their bytes
  std::vector<std::string> bytes_;  // bytes_[k]: the piece of order_[k]
  std::vector<uint32_t> lcp_;       // lcp_[k]: bytes bytes_[k] shares with bytes_[k - 1]
  std::vector<int32_t> end_ids_;    // end-of-generation ids
  size_t max_len_ = 0;
};

}  // namespace nucleus

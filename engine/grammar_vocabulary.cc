#include "engine/grammar_vocabulary.h"

#include <algorithm>

namespace nucleus {

grammar::Vocabulary grammar_vocabulary(const Tokenizer& tokenizer, int32_t rows) {
  grammar::Vocabulary vocab;
  vocab.rows = rows > 0 ? rows : tokenizer.vocab_size();
  const int32_t n = std::min<int32_t>(vocab.rows, tokenizer.vocab_size());
  vocab.tokens.resize(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) {
    if (tokenizer.is_end_of_generation(id)) {
      vocab.end_of_generation.push_back(id);
    } else if (tokenizer.is_special(id)) {
      vocab.never_allowed.push_back(id);
    } else {
      vocab.tokens[static_cast<size_t>(id)] = tokenizer.token_to_piece(id);
    }
  }
  return vocab;
}

}  // namespace nucleus

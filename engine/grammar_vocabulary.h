// A tokenizer's vocabulary as the grammar token masks see it
// (sampling/grammar/token_mask.h): each plain token's bytes, the
// end-of-generation ids, and the special tokens no grammar may produce.
#pragma once

#include <cstdint>

#include "sampling/grammar/token_mask.h"
#include "text/tokenizer.h"

namespace nucleus {

// `rows`: the model's logit rows (>= the tokenizer's vocabulary; 0 = the tokenizer's size).
grammar::Vocabulary grammar_vocabulary(const Tokenizer& tokenizer, int32_t rows = 0);

}  // namespace nucleus

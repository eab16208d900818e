// The tokenizer stored in a GGUF file: its tokenizer.ggml.* keys read into a
// TokenizerVocab (text/tokenizer_vocab.h). This is the one place where text/
// meets the file format, so text/ itself never includes model/.
#pragma once

#include "model/gguf.h"
#include "text/tokenizer.h"

namespace nucleus {

// The tokenizer.ggml.* keys of `file` as a TokenizerVocab (not yet validated),
// for callers that adjust it before Tokenizer::from_vocab. Throws GgufError or TokenizerError.
TokenizerVocab tokenizer_vocab_from_gguf(const GgufFile& file);

// Reads and validates the file's tokenizer; throws TokenizerError or GgufError.
Tokenizer tokenizer_from_gguf(const GgufFile& file);

}  // namespace nucleus

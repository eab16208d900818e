// Splits text into words before byte-level BPE, with the regexes that
// llama.cpp (src/llama-vocab.cpp) and HF tokenizers use for each
// `tokenizer.ggml.pre`. Regexes apply in sequence: each one splits every piece
// the previous one produced, and both matches and the gaps between them become
// pieces (HF's Split "isolated" behaviour, llama.cpp's unicode_regex_split).
//
// Implemented with PCRE2 (UTF + UCP so \p{L}, \p{N}, \s are Unicode classes;
// JIT when available). Invalid UTF-8 never fails: PCRE2_MATCH_INVALID_UTF makes
// bad bytes unmatchable, so they end up in gap pieces and BPE sees raw bytes.
// Thread-safe: match data and JIT stacks are per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_vocab.h"

namespace nucleus {

// A piece of the input: [offset, offset + length) in bytes.
struct TextSpan {
  uint32_t offset = 0;
  uint32_t length = 0;
};

class PreTokenizer {
 public:
  explicit PreTokenizer(PreTokenizerKind kind);  // throws std::runtime_error if a regex fails to compile
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Replaces `pieces` with the words of `text` in order; they tile the text.
  void split(std::string_view text, std::vector<TextSpan>& pieces) const;

  // The regexes (PCRE2 syntax) applied for `kind`, in order.
  static std::vector<std::string> patterns(PreTokenizerKind kind);

 private:
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace nucleus

// text_offset of the legacy completions logprobs (OpenAI, vLLM): where each
// token starts in the choice's text, counted in characters (code points), so
// a client's text[offset:] lands on the token in Python or any language that
// indexes by character. Counted over the tokens' own bytes, one after another:
// a token that starts inside a multi-byte character (its first byte a UTF-8
// continuation byte) points at that character. Offsets never decrease.
#pragma once

#include <cstddef>
#include <string_view>

namespace nucleus::server {

class TextOffsets {
 public:
  // `start`: characters of text before the first token (an echoed prompt).
  explicit TextOffsets(size_t start = 0) : chars_(start) {}

  // The offset of the token whose bytes are `piece`; advances past it.
  size_t next(std::string_view piece) {
    const bool starts_inside = !piece.empty() && is_continuation(piece.front()) && chars_ > 0;
    const size_t offset = starts_inside ? chars_ - 1 : chars_;
    chars_ += characters(piece);
    return offset;
  }

  // Characters that start in `bytes` (every byte but UTF-8 continuation bytes).
  static size_t characters(std::string_view bytes) {
    size_t n = 0;
    for (char c : bytes) n += !is_continuation(c);
    return n;
  }

 private:
  static bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
  size_t chars_;
};

}  // namespace nucleus::server

// Streaming detokenization for one sequence: feed token ids one at a time and
// get back only text that is final. A token can end in the middle of a UTF-8
// character (byte-level BPE splits emoji and CJK into byte tokens), so the
// bytes of an incomplete character are held back until the next tokens
// complete it. Bytes that can no longer become valid UTF-8 come out as U+FFFD
// right away; an incomplete tail becomes U+FFFD at flush(). The concatenation
// of every push() and the final flush() equals Tokenizer::decode of all ids.
#pragma once

#include <cstdint>
#include <string>

#include "text/tokenizer.h"

namespace nucleus {

class Detokenizer {
 public:
  // `tokenizer` must outlive the Detokenizer.
  explicit Detokenizer(const Tokenizer& tokenizer, DecodeOptions options = {});

  // The text that `id` completes (often empty or one token's text). Throws
  // TokenizerError when `id` is outside the vocabulary.
  std::string push(int32_t id);
  // The held-back bytes, incomplete sequences as U+FFFD; the stream is then empty.
  std::string flush();
  // Forgets everything, for reuse with a new sequence.
  void reset();

  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;      // bytes not yet emitted: the start of an incomplete character
  bool at_start_ = true;     // no piece seen yet (for the SPM space prefix)
};

}  // namespace nucleus

// SentencePiece-style BPE (GGUF `tokenizer.ggml.model = llama`), following
// llama.cpp's llm_tokenizer_spm: the text (spaces already turned into "▁")
// starts as one symbol per UTF-8 character; the adjacent pair whose
// concatenation is a token with the highest score merges first (leftmost among
// equal scores); a pair merges only when the result is a token, so every
// symbol left at the end is a token or a single character, and a character
// that is not a token falls back to its <0xXX> byte tokens.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/tokenizer_bpe.h"  // TokenTextMap
#include "text/tokenizer_vocab.h"

namespace nucleus {

class SpmModel {
 public:
  // Keeps references to `vocab` and `text_to_id`, which must outlive the model.
  SpmModel(const TokenizerVocab& vocab, const TokenTextMap& text_to_id);

  // Appends the ids of `text` ("▁" already substituted) to `out`. Thread-safe.
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  int32_t mergeable_id(std::string_view text) const;  // -1 unless a normal/user-defined token
  void emit_bytes(std::string_view text, std::vector<int32_t>& out) const;

  const TokenizerVocab& vocab_;
  const TokenTextMap& text_to_id_;
  int32_t byte_ids_[256];  // <0xXX> token per byte (or the byte's own text), -1 if none
};

}  // namespace nucleus

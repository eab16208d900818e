// Text <-> token ids for a model: byte-level BPE (GPT-2 family) or
// SentencePiece-style BPE with byte fallback, built from a TokenizerVocab
// (tokenizer_vocab.h); model/tokenizer_gguf.h reads one from a GGUF file.
//
// Special tokens (GGUF token types CONTROL and USER_DEFINED, e.g.
// "<|im_start|>") are recognised in the text only with
// EncodeOptions::parse_special. Completion prompts and chat-template
// scaffolding set it; chat message contents must not, so a user cannot inject
// role markers. (llama.cpp and HF always match USER_DEFINED tokens; we do not,
// for the same reason. SmolLM2 has none.)
//
// Decoding of a whole sequence is `decode`; for streaming use Detokenizer
// (detokenizer.h). A Tokenizer is immutable after construction and safe to use
// from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer_vocab.h"

namespace nucleus {

// A bad vocabulary; the message names the source (file) and the key or token.
class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EncodeOptions {
  bool add_special = true;     // add BOS/EOS as the vocabulary asks (add_bos/add_eos)
  bool parse_special = false;  // turn special-token text into those tokens
};

struct DecodeOptions {
  bool skip_special_tokens = false;  // drop CONTROL/UNKNOWN tokens instead of printing their text
};

class Tokenizer {
 public:
  // Validates `vocab` and builds the tokenizer; throws TokenizerError.
  static Tokenizer from_vocab(TokenizerVocab vocab);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  // Whole-sequence decode; invalid UTF-8 becomes U+FFFD. Throws TokenizerError on an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, DecodeOptions options = {}) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 when the vocabulary has none
  int32_t eos_id() const;
  int32_t eot_id() const;  // end of turn (<|im_end|>, <|eot_id|>, <end_of_turn>), -1 if unknown
  int32_t unk_id() const;
  int32_t pad_id() const;
  bool add_bos() const;
  bool add_eos() const;
  // Ids that end generation: EOS, EOT, and other end-of-text control tokens of the vocabulary.
  const std::vector<int32_t>& end_of_generation_ids() const;
  bool is_end_of_generation(int32_t id) const;

  TokenizerModelKind model_kind() const;
  PreTokenizerKind pre_tokenizer_kind() const;
  TokenType token_type(int32_t id) const;  // throws TokenizerError when out of range
  bool is_control(int32_t id) const;       // CONTROL
  bool is_special(int32_t id) const;       // CONTROL, USER_DEFINED or UNKNOWN: not plain text
  bool is_valid_id(int32_t id) const { return id >= 0 && id < vocab_size(); }

  // The token's text as stored in the vocabulary ("Ġthe", "▁the", "<0x0A>").
  const std::string& token_text(int32_t id) const;
  // The bytes the token contributes to decoded text (" the", "\n"); may be a
  // partial UTF-8 sequence. Special tokens give their text. Throws when out of range.
  const std::string& token_to_piece(int32_t id) const;
  // The id of a token by its vocabulary text, -1 if absent.
  int32_t token_to_id(std::string_view text) const;

  // For the Detokenizer: the SPM space prefix to drop from the first piece.
  bool strips_leading_space() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nucleus

// The plain description of a tokenizer vocabulary, independent of where it
// came from. tokenizer_gguf.cc fills it from GGUF metadata; tests build small
// ones by hand. Tokenizer::from_vocab validates it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus {

// `tokenizer.ggml.model`.
enum class TokenizerModelKind {
  kBpe,  // "gpt2": byte-level BPE with ranked merges
  kSpm,  // "llama": SentencePiece-style, score-ordered merges with <0xXX> byte fallback
};

// `tokenizer.ggml.pre`: which split regexes run before BPE (byte-level BPE only).
enum class PreTokenizerKind {
  kGpt2,    // "gpt-2", "phi-2", "default" (and the fallback when the key is absent)
  kSmollm,  // "smollm", "starcoder", "refact": each digit alone, then the GPT-2 regex
  kLlama3,  // "llama-bpe", "llama3": case-insensitive contractions, digits in groups of 1-3
  kQwen2,   // "qwen2", "deepseek-r1-qwen": like llama3 but each digit alone
};

// GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct TokenizerVocab {
  TokenizerModelKind model = TokenizerModelKind::kBpe;
  PreTokenizerKind pre = PreTokenizerKind::kGpt2;
  std::vector<std::string> tokens;    // [n_vocab] token text (byte-level text for BPE, "▁" for spaces in SPM)
  std::vector<float> scores;          // [n_vocab] or empty; SPM merge priorities
  std::vector<TokenType> types;       // [n_vocab] or empty (= all normal)
  std::vector<std::string> merges;    // BPE only, "left right", rank = index
  int32_t bos_id = -1;                // -1: none
  int32_t eos_id = -1;
  int32_t eot_id = -1;                // end of turn, e.g. <|im_end|>; found by name when -1
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;      // SPM: prepend " " to the text (and drop it when decoding)
  std::string source = "vocabulary";  // names the origin (a file path) in error messages
};

// Maps a `tokenizer.ggml.pre` name to its kind; false when the name is unknown.
bool parse_pre_tokenizer_name(std::string_view name, PreTokenizerKind* kind);

}  // namespace nucleus

// Byte-level BPE (GPT-2 style) over one pre-tokenized word.
//
// The word's bytes start as one symbol each (the byte's token in the GPT-2
// byte-level alphabet); then the adjacent pair with the lowest merge rank is
// merged, repeatedly, leftmost first among equal ranks, until no pair has a
// merge. Pairs are looked up by (left id, right id) in an open-addressing
// table, candidates sit in a binary heap, and finished words are cached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer_vocab.h"

namespace nucleus {

// Transparent hashing so maps keyed by std::string can be probed with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenTextMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // `text_to_id` maps every token's vocabulary text to its id. Throws
  // std::runtime_error naming the merge when a merge line is malformed.
  BpeModel(const TokenizerVocab& vocab, const TokenTextMap& text_to_id);
  ~BpeModel();

  // Appends the ids of `word` (raw bytes, one pre-tokenizer piece) to `out`. Thread-safe.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  size_t skipped_merges() const { return skipped_merges_; }  // merges naming unknown tokens
  int missing_bytes() const { return missing_bytes_; }       // bytes with no byte-level token (dropped)

 private:
  struct MergeTable;
  struct WordCache;

  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  int32_t byte_ids_[256];  // raw byte -> token id of its byte-level character, -1 if absent
  bool ignore_merges_ = false;  // llama3: a word that is itself a token is emitted whole
  TokenTextMap raw_to_id_;      // ignore_merges_ only: raw bytes of each token -> id
  std::unique_ptr<MergeTable> merges_;
  std::unique_ptr<WordCache> cache_;
  size_t skipped_merges_ = 0;
  int missing_bytes_ = 0;
};

}  // namespace nucleus

#include "text/tokenizer_spm.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "text/unicode_utf8.h"

namespace nucleus {

SpmModel::SpmModel(const TokenizerVocab& vocab, const TokenTextMap& text_to_id) : vocab_(vocab), text_to_id_(text_to_id) {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = text_to_id.find(std::string_view(name));
    if (it == text_to_id.end()) it = text_to_id.find(std::string_view(std::string(1, static_cast<char>(b))));
    byte_ids_[b] = it == text_to_id.end() ? -1 : it->second;
  }
}

int32_t SpmModel::mergeable_id(std::string_view text) const {
  auto it = text_to_id_.find(text);
  if (it == text_to_id_.end()) return -1;
  // Control, unknown, unused and byte tokens never come out of plain text.
  if (!vocab_.types.empty()) {
    const TokenType type = vocab_.types[it->second];
    if (type != TokenType::kNormal && type != TokenType::kUserDefined && type != TokenType::kUndefined) return -1;
  }
  return it->second;
}

void SpmModel::emit_bytes(std::string_view text, std::vector<int32_t>& out) const {
  for (char c : text) {
    int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0) id = vocab_.unk_id;
    if (id >= 0) out.push_back(id);
  }
}

namespace {

struct Symbol {
  uint32_t offset;  // into the text
  uint32_t length;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t length;  // left + right length when proposed; stale if they changed
};

// Highest score first, then leftmost (llama.cpp's llm_bigram_spm::comparator).
struct BigramBefore {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void SpmModel::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(text[i])), text.size() - i);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(len), index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    i += len;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramBefore> queue;
  auto propose = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const int32_t id = mergeable_id(text.substr(l.offset, l.length + r.length));
    if (id < 0) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[id];
    queue.push({score, left, right, l.length + r.length});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) propose(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length) continue;
    left.length += right.length;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    right.length = 0;
    propose(left.prev, bigram.left);
    propose(bigram.left, left.next);
  }

  // A merged symbol is always a token (only token-forming pairs merge); a
  // single character that is not a token falls back to its bytes.
  auto emit = [&](int32_t index) {
    const std::string_view piece = text.substr(symbols[index].offset, symbols[index].length);
    const int32_t id = mergeable_id(piece);
    if (id >= 0) {
      out.push_back(id);
    } else {
      emit_bytes(piece, out);
    }
  };
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) emit(i);
}

}  // namespace nucleus

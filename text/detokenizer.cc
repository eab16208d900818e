#include "text/detokenizer.h"

#include "text/unicode_utf8.h"

namespace nucleus {

Detokenizer::Detokenizer(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string Detokenizer::push(int32_t id) {
  const std::string& piece = tokenizer_->token_to_piece(id);  // range-checked
  if (options_.skip_special_tokens) {
    const TokenType t = tokenizer_->token_type(id);
    if (t == TokenType::kControl || t == TokenType::kUnknown) return {};
  }
  if (piece.empty()) return {};
  size_t skip = 0;
  if (at_start_ && tokenizer_->strips_leading_space() && piece[0] == ' ') skip = 1;
  at_start_ = false;
  pending_.append(piece, skip);

  std::string out;
  const size_t consumed = unicode::append_valid_utf8(pending_, /*final=*/false, out);
  pending_.erase(0, consumed);
  return out;
}

std::string Detokenizer::flush() {
  std::string out = unicode::to_valid_utf8(pending_);
  pending_.clear();
  return out;
}

void Detokenizer::reset() {
  pending_.clear();
  at_start_ = true;
}

}  // namespace nucleus

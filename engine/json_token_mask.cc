#include "engine/json_token_mask.h"

#include <algorithm>

#include "text/tokenizer.h"

namespace nucleus {

JsonTokenMask::JsonTokenMask(const Tokenizer& tokenizer, int32_t vocab) : vocab_(vocab) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < std::min(vocab, tokenizer.vocab_size()); ++id) {
    if (tokenizer.is_end_of_generation(id)) {
      end_ids_.push_back(id);
    } else if (!tokenizer.is_special(id) && !tokenizer.token_to_piece(id).empty()) {
      ids.push_back(id);
    }
  }
  sorted_ = sampling::SortedVocabulary::build(
      std::move(ids), [&](int32_t id) -> const std::string& { return tokenizer.token_to_piece(id); });
}

void JsonTokenMask::fill(const sampling::JsonState& state, std::vector<uint8_t>& mask) const {
  mask.assign(static_cast<size_t>(vocab_), 0);
  if (state.complete()) {
    for (int32_t id : end_ids_) mask[static_cast<size_t>(id)] = 1;
    return;
  }
  // states[i]: the state after the first i bytes of the current token. For the
  // previous token, `valid` bytes were accepted and, if it failed, byte `valid`
  // was the one refused; a token sharing more than `valid` bytes with it fails
  // at that same byte.
  std::vector<sampling::JsonState> states(sorted_.max_len + 1);
  states[0] = state;
  size_t valid = 0;
  bool failed = false;
  for (size_t k = 0; k < sorted_.ids.size(); ++k) {
    const std::string& b = sorted_.bytes[k];
    const size_t common = k == 0 ? 0 : sorted_.lcp[k];
    if (failed && common > valid) continue;  // same failing prefix: ruled out, `valid` unchanged
    size_t i = std::min(common, valid);
    failed = false;
    for (; i < b.size(); ++i) {
      states[i + 1] = states[i];
      if (!states[i + 1].step(static_cast<uint8_t>(b[i]))) {
        failed = true;
        break;
      }
    }
    valid = i;
    if (!failed) mask[static_cast<size_t>(sorted_.ids[k])] = 1;
  }
}

}  // namespace nucleus

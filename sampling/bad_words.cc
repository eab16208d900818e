#include "sampling/bad_words.h"

namespace nucleus::sampling {

void append_bad_word_bans(const SamplingParams& p, std::span<const int32_t> output, std::span<const int32_t> pending,
                          std::vector<int32_t>& out) {
  const size_t length = output.size() + pending.size();
  // Token i of output-then-pending, counted back from the end (back = 1: the last).
  const auto from_end = [&](size_t back) {
    const size_t i = length - back;
    return i < output.size() ? output[i] : pending[i - output.size()];
  };
  for (const std::vector<int32_t>& word : p.bad_words_token_ids) {
    const size_t prefix = word.size() - 1;
    if (prefix > length) continue;
    bool ends_with_prefix = true;
    for (size_t k = 0; k < prefix && ends_with_prefix; ++k) ends_with_prefix = from_end(prefix - k) == word[k];
    if (ends_with_prefix) out.push_back(word.back());
  }
}

}  // namespace nucleus::sampling

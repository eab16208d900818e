#include "engine/ngram_drafter.h"

#include <algorithm>

namespace nucleus {

std::vector<int32_t> draft_ngram(std::span<const int32_t> tokens, int max_tokens, NgramDrafterOptions options) {
  const int64_t len = static_cast<int64_t>(tokens.size());
  if (max_tokens <= 0) return {};
  for (int n = std::min<int64_t>(options.max_n, len - 1); n >= options.min_n; --n) {
    const std::span<const int32_t> suffix = tokens.subspan(len - n);
    // The most recent earlier occurrence: scan start positions backwards.
    for (int64_t start = len - n - 1; start >= 0; --start) {
      if (!std::equal(suffix.begin(), suffix.end(), tokens.begin() + start)) continue;
      const int64_t from = start + n;
      const int64_t count = std::min<int64_t>(max_tokens, len - from);
      return std::vector<int32_t>(tokens.begin() + from, tokens.begin() + from + count);
    }
  }
  return {};
}

void NgramDrafter::propose(std::span<DraftJob> jobs) {
  for (DraftJob& job : jobs) job.draft = draft_ngram(job.tokens, job.max_tokens, options_);
}

}  // namespace nucleus

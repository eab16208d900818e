#include "engine/ngram_drafter.h"

#include <algorithm>

namespace nucleus {

std::vector<int32_t> draft_ngram(std::span<const int32_t> tokens, int max_tokens, NgramDrafterOptions options) {
  const int64_t len = static_cast<int64_t>(tokens.size());
  if (max_tokens <= 0 || len < 2) return {};
  // One backward scan: `end` is the candidate's last matched position (its
  // token equals the sequence's last), n how far the match reaches back.
  // Scanning from the most recent, only a strictly longer match replaces the
  // best, and a match of max_n cannot be beaten, so the scan stops there.
  const int32_t* t = tokens.data();
  int64_t best_end = -1, best_n = 0;
  for (int64_t end = len - 2; end >= 0 && best_n < options.max_n; --end) {
    if (t[end] != t[len - 1]) continue;
    int64_t n = 1;
    while (n < options.max_n && end - n >= 0 && t[end - n] == t[len - 1 - n]) ++n;
    if (n > best_n) best_n = n, best_end = end;
  }
  if (best_n < std::max(options.min_n, 1)) return {};
  const int64_t from = best_end + 1;
  int64_t count = std::min<int64_t>(max_tokens, len - from);
  if (options.length_by_match) count = std::min<int64_t>(count, std::max<int64_t>(best_n - 1, 1));
  return std::vector<int32_t>(tokens.begin() + from, tokens.begin() + from + count);
}

void NgramDrafter::propose(std::span<DraftJob> jobs) {
  for (DraftJob& job : jobs) job.draft = draft_ngram(job.tokens, job.max_tokens, options_);
}

}  // namespace nucleus

// N-gram prompt lookup: the drafter of speculative decoding that needs no
// second model. The sequence's last tokens are looked up earlier in the same
// sequence (prompt and output): the earlier position whose preceding tokens
// match the longest suffix (at least min_n, at most max_n tokens; the most
// recent such position on ties) gives the draft, the tokens that followed it.
// Copy-heavy
// work (rewriting, quoting, editing code) repeats long spans, so drafts there
// are often right; elsewhere there is usually no match and no cost.
//
// Drafts are a pure function of the tokens, so speculation stays
// deterministic; correctness never depends on them (see engine_core.cc).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/drafter.h"

namespace nucleus {

struct NgramDrafterOptions {
  int max_n = 3;  // longest suffix to match
  int min_n = 1;  // shortest suffix to match
  // Draft at most (match length - 1) tokens: a short match is weak evidence
  // that the continuation repeats too, a long one strong evidence.
  bool length_by_match = false;
};

// Up to `max_tokens` drafted tokens following `tokens`; empty when no suffix matches.
std::vector<int32_t> draft_ngram(std::span<const int32_t> tokens, int max_tokens, NgramDrafterOptions options = {});

// draft_ngram behind the Drafter interface; keeps no state.
class NgramDrafter final : public Drafter {
 public:
  explicit NgramDrafter(NgramDrafterOptions options) : options_(options) {}
  void propose(std::span<DraftJob> jobs) override;

 private:
  NgramDrafterOptions options_;
};

}  // namespace nucleus

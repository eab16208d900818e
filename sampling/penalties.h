// Per-sequence token counts for the repetition, frequency and presence penalties.
//
// The engine builds one PenaltyState per sequence from its prompt and calls
// accept(token) for every generated token: O(1) each (hash lookup + append).
// The penalty stage then touches only the distinct ids seen so far (a sparse
// list), never the whole vocabulary, and never rebuilds from the history.
//
// Speculative verification samples several positions of one sequence in one
// batch: each row passes the same state plus the tokens "pending" before its
// position (drafted tokens assumed accepted), see apply_penalties().
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "sampling/filter_math.h"

namespace nucleus::sampling {

class PenaltyState {
 public:
  struct Entry {
    int32_t token_id = 0;
    uint32_t output_count = 0;  // occurrences in the generated output
    bool in_prompt = false;     // occurs in the prompt (repetition penalty only)
  };

  PenaltyState() = default;
  // Throws std::invalid_argument for a negative token id.
  explicit PenaltyState(std::span<const int32_t> prompt_tokens);

  // One generated token. O(1) amortised.
  void accept(int32_t token_id);

  // Distinct ids seen in the prompt or the output, in first-seen order.
  std::span<const Entry> entries() const { return entries_; }
  // nullptr when the id was never seen.
  const Entry* find(int32_t token_id) const;
  int64_t num_output_tokens() const { return num_output_tokens_; }
  // Largest id seen (-1 when empty): lets the sampler check the vocabulary bound in O(1).
  int32_t max_token_id() const { return max_token_id_; }

 private:
  Entry& slot(int32_t token_id);

  std::vector<Entry> entries_;
  std::unordered_map<int32_t, uint32_t> index_;  // token id -> position in entries_
  int64_t num_output_tokens_ = 0;
  int32_t max_token_id_ = -1;
};

// Applies repetition, frequency and presence penalties to logits[vocab] in place,
// for the ids in `state` (may be null) and in `pending` (tokens counted as extra
// output after the state, e.g. accepted drafts). Each affected id is penalised once,
// from its original logit. Ids must be < vocab (the sampler checks beforehand).
// Cost: O(distinct ids + pending.size() * distinct pending ids).
void apply_penalties(float* logits, const PenaltyState* state, std::span<const int32_t> pending,
                     const StageParams& params);

}  // namespace nucleus::sampling

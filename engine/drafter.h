// The drafters of speculative decoding behind one small interface, so the
// step loop asks for drafts the same way whichever drafter a request chose:
// n-gram prompt lookup (ngram_drafter.h) or a draft model
// (draft_model_drafter.h).
//
// A drafter only proposes. Verification (EngineCore::accept_drafts) keeps a
// drafted token only where it equals the target model's own sample at that
// position, so no drafter, however wrong, can change an output; a good one
// only saves forward passes of the target.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nucleus {

// One decoding sequence that speculates this step.
struct DraftJob {
  uint64_t seq_id = 0;              // stable over the sequence's life (Sequence::id)
  std::span<const int32_t> tokens;  // prompt + output so far; the last one is real but not yet computed
  int max_tokens = 0;               // most tokens to propose (>= 1)
  std::vector<int32_t> draft;       // out: the proposal, possibly empty
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Fills job.draft for every job. All speculating sequences of a step come
  // in one call, so a model drafter runs them as one batch.
  virtual void propose(std::span<DraftJob> jobs) = 0;
  // The sequence finished or was aborted: drop whatever is kept for it.
  virtual void forget(uint64_t seq_id) { (void)seq_id; }
  // KV blocks the drafter holds (0 for drafters without a model).
  virtual int64_t blocks_used() const { return 0; }
};

}  // namespace nucleus

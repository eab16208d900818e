// Speculative decoding on the engine side: the drafters (n-gram prompt
// lookup always, a draft model when the engine has one), the choice of which
// running sequences draft this step and how many tokens, and the counts the
// stats report. Verification stays in EngineCore::accept_drafts, which owns
// the outputs; it reports what was kept through record().
//
// Engine-thread only, like everything EngineCore owns.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/drafter.h"
#include "engine/engine_options.h"
#include "engine/scheduler.h"
#include "kernels/ops.h"
#include "model/model.h"

namespace nucleus {

class Speculator {
 public:
  // Throws std::invalid_argument when options ask for draft-model
  // speculation without a draft model. `num_blocks`: the target's KV pool
  // size, which the draft model's pool mirrors.
  Speculator(const Model& target, const EngineOptions& options, const kernels::Context& ctx, int64_t num_blocks);
  ~Speculator();

  bool has_draft_model() const { return model_drafter_ != nullptr; }

  // Appends drafted tokens to the running sequences that speculate this step
  // (Sequence::num_draft says how many); each drafter sees all of its
  // sequences in one call.
  void draft(const std::vector<Sequence*>& running, int64_t context_length);
  // The sequence is done: every drafter drops its state (draft KV blocks).
  void forget(uint64_t seq_id);
  // One verification: `drafted` tokens were checked and `kept` matched.
  void record(int64_t drafted, int64_t kept) {
    drafted_ += drafted;
    accepted_ += kept;
  }

  int64_t drafted() const { return drafted_; }
  int64_t accepted() const { return accepted_; }
  int64_t draft_kv_blocks_used() const { return model_drafter_ ? model_drafter_->blocks_used() : 0; }

 private:
  const EngineOptions& options_;
  std::unique_ptr<Drafter> ngram_drafter_;
  std::unique_ptr<Drafter> model_drafter_;  // nullptr without EngineOptions::draft_model
  int64_t drafted_ = 0;
  int64_t accepted_ = 0;
  std::vector<DraftJob> ngram_jobs_, model_jobs_;   // this step's speculating sequences
  std::vector<Sequence*> ngram_seqs_, model_seqs_;  // ... and their sequences, in the same order
};

}  // namespace nucleus

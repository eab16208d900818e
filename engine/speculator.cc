#include "engine/speculator.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "engine/draft_model_drafter.h"
#include "engine/ngram_drafter.h"
#include "engine/request_state.h"

namespace nucleus {

Speculator::Speculator(const Model& target, const EngineOptions& options, const kernels::Context& ctx,
                       int64_t num_blocks)
    : options_(options) {
  // Only suffixes of 2+ tokens: a 1-token match is mostly noise, and every
  // drafted token costs a row of the forward pass and of the LM head. Up to
  // 64: code repeats short fragments (self.items[name]) with different
  // continuations, and the longest match tells the source's occurrence from
  // the output's own earlier ones (a 4-token cap drafted from the latter:
  // 81% vs 93% of drafts kept rewriting a code file). Draft length is capped
  // by match length too: a 2-token match is weak evidence.
  ngram_drafter_ = std::make_unique<NgramDrafter>(
      NgramDrafterOptions{.max_n = 64, .min_n = 2, .length_by_match = true});
  if (options.draft_model) {
    model_drafter_ = std::make_unique<DraftModelDrafter>(
        target, *options.draft_model, ctx,
        DraftModelOptions{.num_blocks = num_blocks, .block_size = options.block_size,
                          .prefix_cache = options.prefix_cache, .max_catch_up_tokens = options.max_batched_tokens,
                          .kv_dtype = options.kv_dtype});
  } else if (options.speculation == Speculation::kDraft) {
    throw std::invalid_argument("draft-model speculation needs a draft model (--draft-model PATH)");
  }
}

Speculator::~Speculator() = default;

void Speculator::draft(const std::vector<Sequence*>& running, int64_t context_length) {
  ngram_jobs_.clear(), model_jobs_.clear(), ngram_seqs_.clear(), model_seqs_.clear();
  for (Sequence* seq : running) {
    auto* s = seq->owner;
    const Request& request = *s->request;
    const Speculation mode = request.spec.speculation.value_or(options_.speculation);
    if (mode == Speculation::kOff || s->json || seq->num_draft > 0 || seq->num_uncomputed() != 1) continue;
    // Never draft past max_tokens or the context: the last sample needs a row too.
    const int64_t room = std::min<int64_t>(request.spec.max_tokens - seq->num_output(),
                                           context_length - static_cast<int64_t>(seq->tokens.size())) - 1;
    if (room <= 0) continue;
    const int k = std::min(s->spec_pacing.next(options_.spec_tokens), static_cast<int>(std::min<int64_t>(room, 16)));
    if (k <= 0) continue;
    const bool by_model = mode == Speculation::kDraft;
    (by_model ? model_jobs_ : ngram_jobs_)
        .push_back({.seq_id = seq->id, .tokens = seq->tokens, .max_tokens = k, .draft = {}});
    (by_model ? model_seqs_ : ngram_seqs_).push_back(seq);
  }
  // Each drafter sees all of its sequences at once (one batch per draft step).
  if (!ngram_jobs_.empty()) ngram_drafter_->propose(ngram_jobs_);
  if (!model_jobs_.empty()) model_drafter_->propose(model_jobs_);
  for (auto [jobs, seqs] : {std::pair{&ngram_jobs_, &ngram_seqs_}, std::pair{&model_jobs_, &model_seqs_}}) {
    for (size_t i = 0; i < jobs->size(); ++i) {
      const std::vector<int32_t>& draft = (*jobs)[i].draft;
      if (draft.empty()) continue;
      Sequence* seq = (*seqs)[i];
      seq->tokens.insert(seq->tokens.end(), draft.begin(), draft.end());
      seq->num_draft = static_cast<int64_t>(draft.size());
    }
  }
}

void Speculator::forget(uint64_t seq_id) {
  if (model_drafter_) model_drafter_->forget(seq_id);
  ngram_drafter_->forget(seq_id);
}

}  // namespace nucleus

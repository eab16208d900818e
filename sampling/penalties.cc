#include "sampling/penalties.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace nucleus::sampling {

PenaltyState::PenaltyState(std::span<const int32_t> prompt_tokens) {
  for (const int32_t id : prompt_tokens) slot(id).in_prompt = true;
}

PenaltyState::Entry& PenaltyState::slot(int32_t token_id) {
  if (token_id < 0) throw std::invalid_argument("PenaltyState: negative token id " + std::to_string(token_id));
  const auto [it, inserted] = index_.try_emplace(token_id, static_cast<uint32_t>(entries_.size()));
  if (inserted) {
    entries_.push_back(Entry{token_id, 0, false});
    max_token_id_ = std::max(max_token_id_, token_id);
  }
  return entries_[it->second];
}

void PenaltyState::accept(int32_t token_id) {
  ++slot(token_id).output_count;
  ++num_output_tokens_;
}

const PenaltyState::Entry* PenaltyState::find(int32_t token_id) const {
  const auto it = index_.find(token_id);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void apply_penalties(float* logits, const PenaltyState* state, std::span<const int32_t> pending,
                     const StageParams& params) {
  // Pending ids: counted once each, with state count + occurrences in `pending`.
  // The list is short (a few drafted tokens), so a quadratic scan beats a set.
  auto pending_count = [&](int32_t id) {
    uint32_t n = 0;
    for (const int32_t p : pending) n += (p == id);
    return n;
  };
  if (state) {
    for (const PenaltyState::Entry& e : state->entries()) {
      if (pending_count(e.token_id) > 0) continue;  // handled below
      logits[e.token_id] = penalize_logit(logits[e.token_id], true, e.output_count, params);
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    const int32_t id = pending[i];
    bool first = true;  // penalise each distinct pending id once
    for (size_t j = 0; j < i; ++j) first = first && pending[j] != id;
    if (!first) continue;
    const PenaltyState::Entry* e = state ? state->find(id) : nullptr;
    const uint32_t count = (e ? e->output_count : 0) + pending_count(id);
    logits[id] = penalize_logit(logits[id], true, count, params);
  }
}

}  // namespace nucleus::sampling

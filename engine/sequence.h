// One sequence being generated: its tokens, its KV blocks and where it is in
// its life (waiting -> running -> finished; preemption sends it back to
// waiting with its blocks freed, to be recomputed from its tokens).
//
// The scheduler only reads `tokens` and `kv`; the engine core owns the rest
// (sampling state, text, stop handling) through `owner`.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/kv_cache_manager.h"

namespace nucleus {

struct SequenceState;  // the engine core's per-sequence state (request_state.h)

enum class SequenceStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  uint64_t id = 0;                  // unique per engine
  std::vector<int32_t> tokens;      // prompt followed by the generated tokens
  int64_t prompt_len = 0;
  SequenceKv kv;                    // blocks and how many tokens they hold computed
  SequenceStatus status = SequenceStatus::kWaiting;
  int64_t cached_prompt_tokens = 0;  // prompt tokens the prefix cache served on first admission
  bool admitted_before = false;
  bool reuse_prefix = true;         // false: computed from position 0 even when the prefix cache has it
  SequenceState* owner = nullptr;   // the engine core's state of this sequence; the scheduler never reads it
  // Speculative decoding: the last num_draft entries of `tokens` are drafted,
  // not yet verified; the step computes them with the real last token and
  // keeps only those the target model's own samples agree with.
  int64_t num_draft = 0;

  void drop_drafts() {
    tokens.resize(tokens.size() - static_cast<size_t>(num_draft));
    num_draft = 0;
  }

  int64_t num_output() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }
  int64_t num_uncomputed() const { return static_cast<int64_t>(tokens.size()) - kv.num_computed; }
};

}  // namespace nucleus

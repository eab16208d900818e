// The scheduler counts tokens, not phases (as vLLM v1 does): each sequence has
// tokens and a number of them already computed; a step computes some of the
// rest. Every step fills a token budget and a sequence limit with
//   1. one token for every running sequence that is decoding (steady inter-token latency),
//   2. chunks of the prompts of running sequences still in prefill,
//   3. new sequences from the waiting queue, first come first served (prefix
//      cache hits skip their cached tokens; a long prompt is chunked, so it
//      never stalls running decodes).
// Prompt chunks (2 and 3) may be capped below the budget when the step also
// decodes, to keep decoding streams' inter-token latency near a target time.
// When KV blocks run out, the most recently admitted running sequence is
// preempted: its blocks are freed and it goes back to the head of the waiting
// queue, to be recomputed. The waiting queue is never reordered, so nothing
// starves; a single sequence always fits once everything else is preempted,
// because requests larger than the whole cache are rejected at submission.
// Running sequences with nothing to compute (beams waiting for a sibling's row)
// hold blocks without being scheduled: when the waiting head does not fit and
// nothing else runs, they are preempted newest first, queued behind the head.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "engine/engine_defaults.h"
#include "engine/kv_cache_manager.h"
#include "engine/prefill_pacing.h"
#include "engine/sequence.h"

namespace nucleus {

struct SchedulerOptions {
  int64_t max_batched_tokens = kDefaultMaxBatchedTokens;
  int64_t max_seqs = kDefaultMaxSeqs;
};

// Compute tokens [seq->kv.num_computed, seq->kv.num_computed + num_tokens) of `seq`.
struct ScheduledChunk {
  Sequence* seq = nullptr;
  int64_t num_tokens = 0;
  bool completes() const { return seq->kv.num_computed + num_tokens == static_cast<int64_t>(seq->tokens.size()); }
};

struct Schedule {
  std::vector<ScheduledChunk> chunks;
  int64_t num_tokens = 0;
  int64_t preemptions = 0;
  bool empty() const { return chunks.empty(); }
};

class Scheduler {
 public:
  Scheduler(KvCacheManager& kv, SchedulerOptions options);

  void add_waiting(Sequence* seq);  // to the back of the queue
  // A running sequence that shares `parent`'s blocks (n > 1); runs right after it.
  void add_running_after(Sequence* parent, Sequence* child);
  // Takes `seq` out (finished or aborted) and releases its blocks.
  void remove(Sequence* seq);

  // With `pacing`, a step that decodes any sequence gives its prompt chunks
  // (running prefills and admissions) at most pacing->cap(decode tokens)
  // tokens; a step with no decode takes the whole budget.
  Schedule schedule(const PrefillPacing* pacing = nullptr);

  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  const std::deque<Sequence*>& waiting() const { return waiting_; }
  const std::vector<Sequence*>& running() const { return running_; }
  int64_t prefix_queries() const { return prefix_queries_; }  // prompt tokens looked up
  int64_t prefix_hits() const { return prefix_hits_; }        // of which found cached

 private:
  // Frees the victim's blocks and queues it at the head of the waiting queue
  // (behind_head: second, after the sequence being admitted).
  void preempt(Sequence* victim, Schedule& out, int64_t& budget, bool behind_head = false);
  bool has_seq_room(const Schedule& out) const;
  void schedule_running(Schedule& out, int64_t& budget, bool decode_pass);
  void admit_waiting(Schedule& out, int64_t& budget);

  KvCacheManager& kv_;
  SchedulerOptions options_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // in admission order
  int64_t prefix_queries_ = 0;
  int64_t prefix_hits_ = 0;
};

}  // namespace nucleus

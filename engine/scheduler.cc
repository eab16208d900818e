#include "engine/scheduler.h"

#include <algorithm>
#include <stdexcept>

namespace nucleus {

Scheduler::Scheduler(KvCacheManager& kv, SchedulerOptions options) : kv_(kv), options_(options) {
  if (options.max_batched_tokens < 1 || options.max_seqs < 1) {
    throw std::invalid_argument("scheduler needs max_batched_tokens >= 1 and max_seqs >= 1");
  }
}

void Scheduler::add_waiting(Sequence* seq) {
  seq->status = SequenceStatus::kWaiting;
  waiting_.push_back(seq);
}

void Scheduler::add_running_after(Sequence* parent, Sequence* child) {
  auto it = std::find(running_.begin(), running_.end(), parent);
  child->status = SequenceStatus::kRunning;
  child->admitted_before = true;
  running_.insert(it == running_.end() ? running_.end() : it + 1, child);
}

void Scheduler::remove(Sequence* seq) {
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) running_.erase(it);
  if (auto it = std::find(waiting_.begin(), waiting_.end(), seq); it != waiting_.end()) waiting_.erase(it);
  kv_.release(seq->kv);
  seq->status = SequenceStatus::kFinished;
}

void Scheduler::preempt(Sequence* victim, Schedule& out, int64_t& budget, bool behind_head) {
  auto chunk = std::find_if(out.chunks.begin(), out.chunks.end(), [victim](const auto& c) { return c.seq == victim; });
  if (chunk != out.chunks.end()) {
    budget += chunk->num_tokens;
    out.num_tokens -= chunk->num_tokens;
    out.chunks.erase(chunk);
  }
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  victim->drop_drafts();
  kv_.release(victim->kv);
  victim->status = SequenceStatus::kWaiting;
  if (behind_head && !waiting_.empty()) {
    waiting_.insert(waiting_.begin() + 1, victim);
  } else {
    waiting_.push_front(victim);
  }
  ++out.preemptions;
}

Schedule Scheduler::schedule(const PrefillPacing* pacing) {
  Schedule out;
  int64_t budget = options_.max_batched_tokens;
  schedule_running(out, budget, /*decode_pass=*/true);
  // The prompt chunks' cap (a preemption in the passes below gives a victim's
  // tokens back to the capped budget, as it does without a cap).
  const int64_t prefill_cap = pacing && !out.chunks.empty() ? pacing->cap(out.num_tokens) : 0;
  if (prefill_cap > 0 && budget > prefill_cap) budget = prefill_cap;
  schedule_running(out, budget, /*decode_pass=*/false);
  admit_waiting(out, budget);
  return out;
}

bool Scheduler::has_seq_room(const Schedule& out) const {
  return static_cast<int64_t>(out.chunks.size()) < options_.max_seqs;
}

// 1 and 2: running sequences, decodes first (decode_pass), then prefill chunks.
void Scheduler::schedule_running(Schedule& out, int64_t& budget, bool decode_pass) {
  for (size_t i = 0; i < running_.size() && budget > 0 && has_seq_room(out); ++i) {
    Sequence* seq = running_[i];
    // A decoding sequence computes its last token plus any drafted ones, all
    // in this step or not at all (drafts are dropped when they do not fit).
    // Only in the decode pass: in the prefill pass a sequence with drafts was
    // already scheduled, and dropping them then would shrink its tokens
    // under its chunk.
    if (decode_pass && seq->num_draft > 0 && seq->num_uncomputed() > budget) seq->drop_drafts();
    const int64_t remaining = seq->num_uncomputed();
    if (remaining <= 0 || (remaining - seq->num_draft == 1) != decode_pass) continue;
    const int64_t n = std::min(remaining, budget);
    bool preempted_self = false;
    while (!kv_.allocate(seq->kv, n)) {
      Sequence* victim = running_.back();
      preempt(victim, out, budget);
      if (victim == seq) {
        preempted_self = true;
        break;
      }
    }
    if (preempted_self) break;  // everything after it was preempted too
    out.chunks.push_back({seq, n});
    out.num_tokens += n;
    budget -= n;
  }
}

// 3: admits waiting sequences in order, while they fit.
void Scheduler::admit_waiting(Schedule& out, int64_t& budget) {
  while (!waiting_.empty() && budget > 0 && has_seq_room(out)) {
    Sequence* seq = waiting_.front();
    const bool first_admission = !seq->admitted_before;
    const int64_t hit = seq->reuse_prefix ? kv_.match_prefix(seq->kv, seq->tokens) : 0;
    const int64_t n = std::min(seq->num_uncomputed(), budget);
    if (!kv_.allocate(seq->kv, n)) {
      kv_.release(seq->kv);  // give back the prefix blocks it matched
      // Nothing else runs this step, so every running sequence is idle: a beam
      // holding its blocks until a sibling's row arrives (engine/beam_search.h).
      // Idle beams waiting on each other would wait forever; the newest yields
      // its blocks to the head and queues right behind it.
      if (out.chunks.empty() && !running_.empty()) {
        preempt(running_.back(), out, budget, /*behind_head=*/true);
        continue;
      }
      return;
    }
    if (first_admission) {
      prefix_queries_ += seq->prompt_len;
      prefix_hits_ += hit;
      seq->cached_prompt_tokens = hit;
    }
    waiting_.pop_front();
    seq->status = SequenceStatus::kRunning;
    seq->admitted_before = true;
    running_.push_back(seq);
    out.chunks.push_back({seq, n});
    out.num_tokens += n;
    budget -= n;
  }
}

}  // namespace nucleus

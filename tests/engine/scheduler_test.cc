// Scheduler on its own (no model): a step is simulated by marking the
// scheduled tokens computed and appending one token to every sequence whose
// chunk completes it. Checks the order (decode, then prefill chunks, then
// admissions), the token budget and sequence limit, chunked prefill next to a
// running decode, prompt chunks capped by PrefillPacing beside decodes,
// preemption of the most recently admitted, FCFS, and a
// randomized run (submit / abort / fork / finish) that conserves blocks.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "model/model_config.h"

namespace nucleus {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.n_layers = 1;
  c.n_kv_heads = 1;
  c.head_dim = 1;
  return c;
}

struct Harness {
  Harness(int64_t blocks, int block_size, SchedulerOptions options, bool prefix_cache = true)
      : storage(small_config(), blocks, block_size),
        pool(blocks, block_size, prefix_cache),
        kv(pool, storage),
        scheduler(kv, options) {}

  Sequence* add(std::vector<int32_t> prompt) {
    auto s = std::make_unique<Sequence>();
    s->id = seqs.size() + 1;
    s->prompt_len = static_cast<int64_t>(prompt.size());
    s->tokens = std::move(prompt);
    scheduler.add_waiting(s.get());
    seqs.push_back(std::move(s));
    return seqs.back().get();
  }
  // What the engine does after the forward pass.
  void advance(const Schedule& schedule, int32_t next_token = 7) {
    for (const ScheduledChunk& c : schedule.chunks) {
      const bool completes = c.completes();
      c.seq->kv.num_computed += c.num_tokens;
      kv.register_full_blocks(c.seq->kv, c.seq->tokens);
      if (completes) c.seq->tokens.push_back(next_token);
    }
  }
  int64_t tokens_of(const Schedule& s, const Sequence* seq) const {
    for (const ScheduledChunk& c : s.chunks) {
      if (c.seq == seq) return c.num_tokens;
    }
    return 0;
  }

  KvStorage storage;
  BlockPool pool;
  KvCacheManager kv;
  Scheduler scheduler;
  std::vector<std::unique_ptr<Sequence>> seqs;
};

std::vector<int32_t> prompt_of(int n, int32_t base) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = base + i;
  return t;
}

TEST(Scheduler, ChunkedPrefillRunsBesideADecodeThatGetsOneTokenEveryStep) {
  Harness h(64, 4, {.max_batched_tokens = 8, .max_seqs = 8});
  Sequence* decoding = h.add(prompt_of(3, 100));
  Schedule s = h.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].num_tokens, 3);
  h.advance(s);  // decoding now has 4 tokens, 3 computed

  Sequence* long_prompt = h.add(prompt_of(30, 200));
  int64_t prefilled = 0;
  int steps = 0;
  while (long_prompt->kv.num_computed < 30) {
    s = h.scheduler.schedule();
    ++steps;
    ASSERT_GE(s.chunks.size(), 2u);
    // Decode first, with exactly one token; then the prompt's chunk fills the rest of the budget.
    EXPECT_EQ(s.chunks[0].seq, decoding);
    EXPECT_EQ(s.chunks[0].num_tokens, 1);
    EXPECT_EQ(s.chunks[1].seq, long_prompt);
    EXPECT_EQ(s.chunks[1].num_tokens, std::min<int64_t>(7, 30 - prefilled));
    EXPECT_LE(s.num_tokens, 8);
    prefilled += s.chunks[1].num_tokens;
    h.advance(s);
  }
  EXPECT_EQ(steps, 5);  // 7 + 7 + 7 + 7 + 2
  EXPECT_EQ(decoding->num_output(), 6);  // one token per step, and its first from the admission step
  EXPECT_EQ(long_prompt->num_output(), 1);
  EXPECT_TRUE(h.pool.check_invariants());
}

TEST(Scheduler, PrefillPacingCapsPromptChunksOnlyBesideDecodes) {
  PrefillPacing pacing(0.1, 4);
  pacing.observe(100, 1.0);  // 10 ms a token: 10 tokens fit a 100 ms step
  Harness h(256, 4, {.max_batched_tokens = 64, .max_seqs = 8});
  Sequence* first = h.add(prompt_of(40, 100));
  Schedule s = h.scheduler.schedule(&pacing);  // nothing decodes: the whole budget of 64
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].num_tokens, 40);
  h.advance(s);

  Sequence* second = h.add(prompt_of(40, 300));
  Sequence* third = h.add(prompt_of(40, 500));
  int64_t prefilled = 0;
  int steps = 0;
  while (second->kv.num_computed < 40) {
    s = h.scheduler.schedule(&pacing);
    ++steps;
    ASSERT_GE(s.chunks.size(), 2u);
    EXPECT_EQ(s.chunks[0].seq, first);  // the decode first, one token
    EXPECT_EQ(s.chunks[0].num_tokens, 1);
    EXPECT_EQ(s.chunks[1].seq, second);
    // 10 tokens fit, 1 decodes: 9 of the prompt, and the third is not admitted beside it.
    EXPECT_EQ(s.chunks[1].num_tokens, std::min<int64_t>(9, 40 - prefilled));
    EXPECT_LE(s.num_tokens - 1, 9);
    prefilled += s.chunks[1].num_tokens;
    h.advance(s);
  }
  EXPECT_EQ(steps, 5);  // 9 + 9 + 9 + 9 + 4 (the third's admission shares the last step)
  EXPECT_EQ(third->kv.num_computed, 5);

  // Without pacing the same step would have taken the whole budget.
  Harness free_run(256, 4, {.max_batched_tokens = 64, .max_seqs = 8});
  Sequence* a = free_run.add(prompt_of(40, 100));
  free_run.advance(free_run.scheduler.schedule());
  free_run.add(prompt_of(40, 300));
  s = free_run.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0].seq, a);
  EXPECT_EQ(s.chunks[1].num_tokens, 40);
}

TEST(Scheduler, RunningPrefillChunksComeAfterDecodesAndBeforeAdmissions) {
  Harness h(64, 4, {.max_batched_tokens = 10, .max_seqs = 8});
  Sequence* prefilling = h.add(prompt_of(25, 1));  // admitted first, stays in prefill
  Schedule s = h.scheduler.schedule();
  h.advance(s);
  Sequence* short_one = h.add(prompt_of(2, 50));
  s = h.scheduler.schedule();  // prefill chunk of 10 fills the budget; short_one waits
  EXPECT_EQ(h.tokens_of(s, prefilling), 10);
  EXPECT_EQ(h.tokens_of(s, short_one), 0);
  h.advance(s);
  s = h.scheduler.schedule();  // 5 left of the prompt, then short_one is admitted with 2
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0].seq, prefilling);
  EXPECT_EQ(s.chunks[0].num_tokens, 5);
  EXPECT_EQ(s.chunks[1].seq, short_one);
  EXPECT_EQ(s.chunks[1].num_tokens, 2);
  h.advance(s);
  // Now both decode; the one admitted earlier comes first.
  s = h.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0].seq, prefilling);
  EXPECT_EQ(s.chunks[1].seq, short_one);
  EXPECT_EQ(s.num_tokens, 2);
  // A new long prompt behind two decodes gets the rest of the budget.
  Sequence* later = h.add(prompt_of(40, 300));
  h.advance(s);
  s = h.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 3u);
  EXPECT_EQ(s.chunks[2].seq, later);
  EXPECT_EQ(s.chunks[2].num_tokens, 8);
}

// Bug fixed: the prefill pass dropped the drafts of a sequence the decode pass
// had already scheduled with them, whenever they exceeded the budget left;
// its chunk then ran past its tokens (and its KV count past its length).
TEST(Scheduler, DraftsScheduledInTheDecodePassStayForThePrefillPass) {
  Harness h(64, 4, {.max_batched_tokens = 8, .max_seqs = 8});
  Sequence* drafting = h.add(prompt_of(3, 1));
  Sequence* other = h.add(prompt_of(3, 50));
  Schedule s = h.scheduler.schedule();
  h.advance(s);
  for (int32_t d : {60, 61, 62}) drafting->tokens.push_back(d);
  drafting->num_draft = 3;
  s = h.scheduler.schedule();  // decodes: 4 + 1 of 8, leaving 3 < the drafting sequence's 4 for the prefill pass
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(h.tokens_of(s, drafting), 4);
  EXPECT_EQ(h.tokens_of(s, other), 1);
  EXPECT_EQ(drafting->num_draft, 3);
  for (const ScheduledChunk& c : s.chunks) EXPECT_TRUE(c.completes()) << "chunk of sequence " << c.seq->id;
}

TEST(Scheduler, MaxSeqsAndBudgetAreRespectedAndTheQueueDrainsInOrder) {
  Harness h(256, 4, {.max_batched_tokens = 16, .max_seqs = 3});
  for (int i = 0; i < 10; ++i) h.add(prompt_of(3 + i, 10 * i));
  std::vector<const Sequence*> admitted;
  for (int step = 0; step < 200 && h.scheduler.num_running() + h.scheduler.num_waiting() > 0; ++step) {
    Schedule s = h.scheduler.schedule();
    EXPECT_LE(static_cast<int64_t>(s.chunks.size()), 3);
    EXPECT_LE(s.num_tokens, 16);
    int64_t sum = 0;
    std::set<const Sequence*> distinct;
    for (const auto& c : s.chunks) {
      sum += c.num_tokens;
      EXPECT_GT(c.num_tokens, 0);
      distinct.insert(c.seq);
      if (std::find(admitted.begin(), admitted.end(), c.seq) == admitted.end()) admitted.push_back(c.seq);
    }
    EXPECT_EQ(sum, s.num_tokens);
    EXPECT_EQ(distinct.size(), s.chunks.size());
    EXPECT_LE(h.scheduler.num_running(), 3u);
    h.advance(s);
    for (auto& seq : h.seqs) {
      if (seq->status == SequenceStatus::kRunning && seq->num_output() >= 4) h.scheduler.remove(seq.get());
    }
  }
  ASSERT_EQ(admitted.size(), 10u) << "some request never ran";
  for (size_t i = 0; i < admitted.size(); ++i) EXPECT_EQ(admitted[i], h.seqs[i].get()) << "admission " << i;
  EXPECT_EQ(h.pool.num_used(), 0);
}

TEST(Scheduler, PreemptsTheMostRecentlyAdmittedWhenBlocksRunOut) {
  // 5 blocks of 4 tokens: a and b (7 tokens) take 2 blocks each, c (3 tokens) one.
  Harness h(5, 4, {.max_batched_tokens = 64, .max_seqs = 8});
  Sequence* a = h.add(prompt_of(7, 0));
  Sequence* b = h.add(prompt_of(7, 100));
  Sequence* c = h.add(prompt_of(3, 200));
  Schedule s = h.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 3u);
  h.advance(s);
  EXPECT_EQ(h.pool.num_free(), 0);
  s = h.scheduler.schedule();  // every decode still fits in its last block
  ASSERT_EQ(s.chunks.size(), 3u);
  EXPECT_EQ(s.preemptions, 0);
  h.advance(s);
  // Now a and b need a third block and c a second. a takes c's (c was admitted
  // last); b then finds nothing free and is itself the most recent left.
  s = h.scheduler.schedule();
  EXPECT_EQ(s.preemptions, 2);
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].seq, a);
  EXPECT_EQ(s.chunks[0].num_tokens, 1);
  ASSERT_EQ(h.scheduler.num_waiting(), 2u);
  EXPECT_EQ(h.scheduler.waiting()[0], b);  // preempted later, so at the head; c behind it
  EXPECT_EQ(h.scheduler.waiting()[1], c);
  EXPECT_EQ(b->kv.num_computed, 0);
  EXPECT_TRUE(b->kv.block_table.empty());
  EXPECT_EQ(b->status, SequenceStatus::kWaiting);
  EXPECT_EQ(b->tokens.size(), 9u);  // its tokens stay, to be recomputed
  EXPECT_TRUE(h.pool.check_invariants());
  h.advance(s);
  // When a finishes, b and then c come back, in that order, recomputing what is not cached.
  h.scheduler.remove(a);
  s = h.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0].seq, b);
  EXPECT_EQ(s.chunks[0].num_tokens, 9 - b->kv.num_computed);
  EXPECT_EQ(s.chunks[1].seq, c);
  EXPECT_EQ(b->cached_prompt_tokens, 0);  // counted on the first admission only
}

TEST(Scheduler, WaitingQueueIsFirstComeFirstServed) {
  // 4 blocks of 4 tokens. The head needs 3 blocks and only 2 are free: the
  // small request behind it must not overtake it.
  Harness h(4, 4, {.max_batched_tokens = 64, .max_seqs = 8}, false);
  Sequence* running = h.add(prompt_of(6, 0));
  h.advance(h.scheduler.schedule());
  Sequence* big = h.add(prompt_of(10, 100));
  Sequence* small = h.add(prompt_of(2, 200));
  Schedule s = h.scheduler.schedule();
  EXPECT_EQ(h.tokens_of(s, big), 0);
  EXPECT_EQ(h.tokens_of(s, small), 0);
  EXPECT_EQ(h.scheduler.waiting().front(), big);
  h.advance(s);
  h.scheduler.remove(running);
  s = h.scheduler.schedule();
  EXPECT_EQ(h.tokens_of(s, big), 10);
  EXPECT_EQ(h.tokens_of(s, small), 2);
  EXPECT_EQ(s.chunks[0].seq, big);
}

TEST(Scheduler, PrefixHitSkipsCachedTokensAndIsCountedOnce) {
  Harness h(32, 4, {.max_batched_tokens = 64, .max_seqs = 8});
  Sequence* first = h.add(prompt_of(10, 0));
  Schedule s = h.scheduler.schedule();
  h.advance(s);
  Sequence* second = h.add(prompt_of(10, 0));
  s = h.scheduler.schedule();
  EXPECT_EQ(h.tokens_of(s, second), 2);  // 8 cached (two full blocks), 2 computed
  EXPECT_EQ(second->cached_prompt_tokens, 8);
  EXPECT_EQ(second->kv.block_table[0], first->kv.block_table[0]);
  EXPECT_EQ(second->kv.block_table[1], first->kv.block_table[1]);
  EXPECT_EQ(h.scheduler.prefix_queries(), 20);
  EXPECT_EQ(h.scheduler.prefix_hits(), 8);
}

TEST(Scheduler, RemoveReleasesBlocksOfWaitingAndRunning) {
  Harness h(16, 4, {.max_batched_tokens = 4, .max_seqs = 8});
  Sequence* a = h.add(prompt_of(10, 0));
  Sequence* b = h.add(prompt_of(10, 50));
  h.advance(h.scheduler.schedule());  // a mid-prefill, b waiting
  EXPECT_GT(h.pool.num_used(), 0);
  h.scheduler.remove(b);
  h.scheduler.remove(a);
  EXPECT_EQ(h.pool.num_used(), 0);
  EXPECT_EQ(h.scheduler.num_running() + h.scheduler.num_waiting(), 0u);
  EXPECT_TRUE(h.scheduler.schedule().empty());
}

// Randomized: sequences arrive, fork (n > 1), finish and are aborted while the
// pool is small enough to preempt often. After every step the pool is
// consistent and every reference is owned by exactly one table entry; at the
// end everything finished and every block is free.
void random_run(uint32_t seed, bool prefix_cache) {
  std::mt19937 rng(seed);
  const int kBlocks = 12, kBs = 4;  // a 32-token sequence takes 8: preemption is frequent
  Harness h(kBlocks, kBs, {.max_batched_tokens = 12, .max_seqs = 5}, prefix_cache);
  struct Meta {
    int64_t max_output;
    int fork = 0;  // siblings to create after the prompt
  };
  std::map<Sequence*, Meta> live;
  std::vector<std::unique_ptr<Sequence>> forks;
  int64_t preemptions = 0, submitted = 0, finished = 0;
  for (int step = 0; step < 3000; ++step) {
    // Arrivals while the first part of the run lasts.
    if (step < 2000 && rng() % 3 == 0) {
      // Prompts share prefixes (base in a small set) so prefix hits happen.
      const int len = 1 + static_cast<int>(rng() % 20);
      Sequence* s = h.add(prompt_of(len, static_cast<int32_t>(rng() % 3) * 1000));
      live[s] = {1 + static_cast<int64_t>(rng() % 12), rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 2) : 0};
      ++submitted;
    }
    // Aborts.
    if (!live.empty() && rng() % 10 == 0) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      h.scheduler.remove(it->first);
      live.erase(it);
      ++finished;
    }
    Schedule s = h.scheduler.schedule();
    preemptions += s.preemptions;
    // Order and limits.
    ASSERT_LE(s.num_tokens, 12);
    ASSERT_LE(static_cast<int64_t>(s.chunks.size()), 5);
    std::set<Sequence*> in_step;
    for (const ScheduledChunk& c : s.chunks) {
      ASSERT_TRUE(in_step.insert(c.seq).second) << "a sequence scheduled twice in one step";
      ASSERT_GT(c.num_tokens, 0);
      ASSERT_LE(c.seq->kv.num_computed + c.num_tokens, static_cast<int64_t>(c.seq->tokens.size()));
      ASSERT_GE(static_cast<int64_t>(c.seq->kv.block_table.size()) * kBs, c.seq->kv.num_computed + c.num_tokens);
    }
    // Simulate the step; tokens differ per sequence so forks diverge.
    for (const ScheduledChunk& c : s.chunks) {
      const bool completes = c.completes();
      c.seq->kv.num_computed += c.num_tokens;
      h.kv.register_full_blocks(c.seq->kv, c.seq->tokens);
      if (!completes) continue;
      c.seq->tokens.push_back(static_cast<int32_t>(c.seq->id * 31 + c.seq->tokens.size()) % 500);
    }
    // Forks happen after the step, as the engine does, sharing every block.
    for (const ScheduledChunk& c : s.chunks) {
      auto it = live.find(c.seq);
      if (it == live.end() || it->second.fork == 0 || c.seq->num_output() != 1) continue;
      for (int k = 0; k < it->second.fork; ++k) {
        auto child = std::make_unique<Sequence>();
        child->id = 100000 + forks.size();
        child->tokens = c.seq->tokens;
        child->tokens.back() += 1 + k;  // its own first token
        child->prompt_len = c.seq->prompt_len;
        h.kv.fork(c.seq->kv, child->kv);
        h.scheduler.add_running_after(c.seq, child.get());
        live[child.get()] = {it->second.max_output, 0};
        forks.push_back(std::move(child));
      }
      it->second.fork = 0;
    }
    // Finish sequences that reached their length.
    for (auto it = live.begin(); it != live.end();) {
      if (it->first->num_output() >= it->second.max_output) {
        h.scheduler.remove(it->first);
        it = live.erase(it);
        ++finished;
      } else {
        ++it;
      }
    }
    // Conservation: every reference is one table entry of a live sequence.
    ASSERT_TRUE(h.pool.check_invariants()) << "step " << step;
    std::map<int32_t, int32_t> refs;
    for (const auto& [seq, meta] : live) {
      for (int32_t b : seq->kv.block_table) ++refs[b];
      if (seq->status == SequenceStatus::kWaiting) {
        ASSERT_TRUE(seq->kv.block_table.empty());
      }
    }
    ASSERT_EQ(static_cast<int64_t>(refs.size()), h.pool.num_used()) << "step " << step;
    for (const auto& [b, n] : refs) ASSERT_EQ(h.pool.ref_count(b), n) << "block " << b;
    ASSERT_EQ(h.scheduler.num_running() + h.scheduler.num_waiting(), live.size());
    if (step >= 2000 && live.empty()) break;
  }
  EXPECT_TRUE(live.empty()) << live.size() << " sequences never finished (starvation?)";
  EXPECT_EQ(h.pool.num_used(), 0);
  EXPECT_TRUE(h.pool.check_invariants());
  EXPECT_GT(preemptions, 0);
  EXPECT_GT(submitted, 500);
  if (prefix_cache) {
    EXPECT_GT(h.scheduler.prefix_hits(), 0);
  }
}

TEST(Scheduler, RandomSubmitAbortForkFinishConservesBlocks) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    random_run(seed, true);
    random_run(seed + 100, false);
  }
}

TEST(Scheduler, RejectsEmptyLimits) {
  Harness h(4, 4, {.max_batched_tokens = 4, .max_seqs = 4});
  EXPECT_THROW(Scheduler(h.kv, SchedulerOptions{0, 4}), std::invalid_argument);
  EXPECT_THROW(Scheduler(h.kv, SchedulerOptions{4, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace nucleus

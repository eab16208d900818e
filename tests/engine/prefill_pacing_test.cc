// PrefillPacing on its own (the rule that cuts prompt chunks of steps that
// decode, engine/prefill_pacing.h), and the scheduler obeying its cap: a
// prompt beside running decodes is chunked to the cap, a prompt with nothing
// decoding takes the whole budget.
#include "engine/prefill_pacing.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/scheduler.h"
#include "model/model_config.h"

namespace nucleus {
namespace {

TEST(PrefillPacing, NoCapUntilAStepWasMeasuredOrWithoutATarget) {
  PrefillPacing pacing(0.25, 32);
  EXPECT_EQ(pacing.cap(4), 0);
  PrefillPacing off(0, 32);
  off.observe(512, 2.0);
  EXPECT_EQ(off.cap(4), 0);
}

TEST(PrefillPacing, CapFitsTheTargetAfterTheDecodeTokens) {
  PrefillPacing pacing(2.0, 32);
  pacing.observe(100, 1.0);  // 10 ms a token
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.01);
  EXPECT_EQ(pacing.cap(16), 184);  // 2 s / 10 ms = 200 tokens, 16 of them decoding
  EXPECT_EQ(pacing.cap(0), 200);
  // Never below the floor, so a prompt always advances.
  EXPECT_EQ(pacing.cap(190), 32);
  EXPECT_EQ(pacing.cap(10000), 32);
}

TEST(PrefillPacing, SmallStepsAreNotMeasuredAndLargeOnesAreAveraged) {
  PrefillPacing pacing(1.0, 16);
  pacing.observe(8, 1.0);  // a decode-only step: reading the weights, not tokens
  pacing.observe(31, 1.0);
  EXPECT_EQ(pacing.seconds_per_token(), 0.0);
  EXPECT_EQ(pacing.cap(1), 0);
  pacing.observe(100, 1.0);
  pacing.observe(100, 2.0);
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.75 * 0.01 + 0.25 * 0.02);
  pacing.observe(100, 0.0);  // a clock that did not move is ignored
  EXPECT_DOUBLE_EQ(pacing.seconds_per_token(), 0.0125);
  EXPECT_EQ(pacing.cap(0), 80);  // 1 s / 12.5 ms
}

TEST(PrefillPacing, AFastMachineIsNeverCapped) {
  PrefillPacing pacing(0.25, 32);
  pacing.observe(512, 1e-9);
  EXPECT_GT(pacing.cap(64), int64_t{1} << 32);  // no step budget comes near it
}

// The scheduler with a cap: the harness of scheduler_test.cc, reduced.
ModelConfig tiny_config() {
  ModelConfig c;
  c.n_layers = 1;
  c.n_kv_heads = 1;
  c.head_dim = 1;
  return c;
}

struct Steps {
  Steps() : storage(tiny_config(), 256, 4), pool(256, 4, true), kv(pool, storage), scheduler(kv, {64, 8}) {}
  Sequence* add(int n, int32_t base) {
    auto s = std::make_unique<Sequence>();
    s->id = seqs.size() + 1;
    for (int i = 0; i < n; ++i) s->tokens.push_back(base + i);
    s->prompt_len = n;
    scheduler.add_waiting(s.get());
    seqs.push_back(std::move(s));
    return seqs.back().get();
  }
  void advance(const Schedule& schedule) {
    for (const ScheduledChunk& c : schedule.chunks) {
      const bool completes = c.completes();
      c.seq->kv.num_computed += c.num_tokens;
      kv.register_full_blocks(c.seq->kv, c.seq->tokens);
      if (completes) c.seq->tokens.push_back(7);
    }
  }
  KvStorage storage;
  BlockPool pool;
  KvCacheManager kv;
  Scheduler scheduler;
  std::vector<std::unique_ptr<Sequence>> seqs;
};

TEST(PrefillPacing, SchedulerCapsPromptChunksOnlyBesideDecodes) {
  PrefillPacing pacing(0.1, 4);
  pacing.observe(100, 1.0);  // 10 ms a token: 10 tokens fit a 100 ms step
  Steps h;
  Sequence* first = h.add(40, 100);
  Schedule s = h.scheduler.schedule(&pacing);  // nothing decodes: the whole budget of 64
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(s.chunks[0].num_tokens, 40);
  h.advance(s);

  Sequence* second = h.add(40, 300);
  Sequence* third = h.add(40, 500);
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
  Steps free_run;
  Sequence* a = free_run.add(40, 100);
  free_run.advance(free_run.scheduler.schedule());
  free_run.add(40, 300);
  s = free_run.scheduler.schedule();
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(s.chunks[0].seq, a);
  EXPECT_EQ(s.chunks[1].num_tokens, 40);
}

}  // namespace
}  // namespace nucleus

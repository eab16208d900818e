// Draft-model speculation: a second, usually smaller GGUF with the same
// vocabulary proposes the next tokens greedily (argmax, lowest id on ties),
// run in the engine thread on the same kernels and device as the target.
//
// The draft model's KV lives in its own KvStorage + BlockPool (with its own
// prefix cache), never in the target's: the target's block accounting,
// preemption and prefix hits are exactly what they are without speculation.
// When the draft pool is full a sequence simply gets no draft that step.
//
// Keeping the draft KV in sync without hooks in the step loop: each sequence
// remembers the tokens its draft KV was computed with (its real tokens, then
// the drafts of the last proposal). Each call keeps the longest prefix of
// those that the sequence's tokens still start with; the rest (rejected
// drafts) is rolled back and overwritten by the next pass. The last real
// token is always recomputed, so there are logits to draft from.
//
// One propose() call = one ragged batch that catches every sequence up (its
// new real tokens, the whole prompt the first time; at most
// max_catch_up_tokens over all sequences, longer catch-ups continue next
// step), then k - 1 batches of one token per still-drafting sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/block_pool.h"
#include "engine/drafter.h"
#include "engine/engine_defaults.h"
#include "engine/kv_cache_manager.h"
#include "model/kv_storage.h"
#include "model/model.h"
#include "kernels/device.h"
#include "kernels/ops.h"

namespace nucleus {

// Throws std::invalid_argument, naming both files, unless `draft` has the same
// vocabulary as `target`: the same size and, when the files carry them
// (tokenizer.ggml.tokens), the same token texts in the same order.
void check_same_vocabulary(const Model& target, const Model& draft);

struct DraftModelOptions {
  int64_t num_blocks = 0;  // draft KV pool size
  int block_size = kDefaultBlockSize;
  bool prefix_cache = true;           // shares prompt KV between sequences (n > 1, repeated prompts)
  int64_t max_catch_up_tokens = kDefaultMaxBatchedTokens;  // per propose() call, over all sequences
  // The target's KV dtype (--kv-cache-dtype); f16 when the draft model's
  // head_dim cannot hold it (q8_0 needs a multiple of 32).
  kernels::KvDtype kv_dtype = kernels::kDefaultKvDtype;
};

class DraftModelDrafter final : public Drafter {
 public:
  // `draft` may be the target Model object itself (calls never overlap: both
  // run on the engine thread). Both must outlive the drafter.
  DraftModelDrafter(const Model& target, Model& draft, const kernels::Context& ctx, DraftModelOptions options);

  void propose(std::span<DraftJob> jobs) override;
  void forget(uint64_t seq_id) override;
  int64_t blocks_used() const override { return pool_.num_used(); }
  kernels::KvDtype kv_dtype() const { return storage_.dtype(); }

 private:
  struct State {
    SequenceKv kv;                  // kv.num_computed == computed.size()
    std::vector<int32_t> computed;  // the token each position's draft KV was computed with
  };
  // Rolls `s` back to the prefix of `tokens` its KV was computed with.
  void resync(State& s, std::span<const int32_t> tokens);
  // One forward pass of the draft model over batch_; greedy token per logit row.
  void run_batch(std::vector<int32_t>& argmax);

  // propose() in parts: which jobs, the catch-up pass, then one pass per further draft token.
  struct Active {
    DraftJob* job;
    State* state;
    int k;             // tokens to draft; 0: only catching up this call
    int64_t catch_up;  // tokens of the job computed in the catch-up pass
  };
  std::vector<Active> admit_jobs(std::span<DraftJob> jobs);
  void start_batch(const std::vector<Active>& active, const std::vector<size_t>& members);
  void add_token(State& s, int32_t token, int32_t batch_seq);
  std::vector<size_t> catch_up(std::vector<Active>& active);
  std::vector<size_t> draft_one_more(std::vector<Active>& active, const std::vector<size_t>& members);

  Model& draft_;
  const kernels::Context& ctx_;
  DraftModelOptions options_;
  KvStorage storage_;
  BlockPool pool_;
  KvCacheManager kv_;
  std::unordered_map<uint64_t, State> states_;  // by sequence id
  ForwardBatch batch_;
  std::vector<float> logits_;                             // [logit rows, vocab] on the host
  std::unique_ptr<kernels::DeviceBuffer> device_logits_;  // the same on ctx.device when it is not the CPU
};

}  // namespace nucleus

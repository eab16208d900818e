// The engine thread and everything it owns: the KV pool, the scheduler, the
// sampler and the live requests. Engine (engine.h) is its thread-safe face.
//
// Threads: start() creates the engine thread; it runs loop() until shutdown.
// submit() and stats() are called from other threads and only touch
// `incoming_` and `stats_` under `mutex_`; everything else is engine-thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <span>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/block_pool.h"
#include "engine/generation_request.h"
#include "engine/kv_cache_manager.h"
#include "model/kv_storage.h"
#include "model/model.h"
#include "engine/request_state.h"
#include "engine/scheduler.h"
#include "engine/speculator.h"
#include "model/step_backend.h"
#include "kernels/thread_pool.h"
#include "sampling/grammar/token_mask.h"
#include "sampling/sampler.h"

namespace nucleus {

class JsonTokenMask;

class EngineCore {
 public:
  // `backend`: the device half of each step; nullptr = make_step_backend for options.device.
  EngineCore(Model& model, const Tokenizer& tokenizer, const EngineOptions& options,
             std::unique_ptr<StepBackend> backend = nullptr);
  ~EngineCore();

  void start();
  std::unique_ptr<RequestHandle> submit(GenerationRequest request);
  EngineStats stats() const;
  const EngineOptions& options() const { return options_; }
  int context_length() const;
  void shutdown(std::chrono::milliseconds timeout);

  // Runs one scheduling step on the calling thread (tests and `bench` use it
  // without start()). Returns false when there was nothing to do.
  bool step();

 private:
  void loop();
  void take_incoming();
  void handle_aborts(bool abort_everything);
  // A step threw: every live request fails with `what` (a 500 for its client),
  // its blocks go back, and the engine goes on serving new requests.
  void fail_live_requests(const std::string& what);
  void fork_siblings(SequenceState& first);

  // One step in parts: the batch, the rows to sample, the sampler's input, the results applied.
  struct PlannedRow {
    SequenceState* s;
    size_t logit_row;
    int64_t draft_index;  // -1: not speculating; else the number of drafts before this row
    size_t chunk;         // index in the schedule's chunks
  };
  struct StepPlan {
    std::vector<PlannedRow> rows;
    std::vector<std::vector<int32_t>> drafts_of;  // [chunk] the drafts verified this step
  };
  void build_batch(const Schedule& schedule);
  StepPlan plan_rows(const Schedule& schedule);
  std::vector<SampleRow> sampler_rows(const StepPlan& plan);
  // The row's token mask under its sequence's grammar, after the drafts before it.
  void fill_grammar_mask(const SequenceState& s, const StepPlan& plan, const PlannedRow& p, std::vector<uint8_t>& mask);
  const grammar::GrammarTokenMask& grammar_mask();
  bool advance_grammar(SequenceState& s, int32_t token);
  void apply_results(const StepPlan& plan, std::span<const sampling::RowResult> results);
  // Verification: appends the target's samples up to the first mismatch and
  // keeps the KV of the drafts that were right.
  void accept_drafts(SequenceState& s, std::span<const sampling::RowResult> rows, std::span<const int32_t> drafts);
  void append_token(SequenceState& s, const sampling::RowResult& r);
  // Prompt logprobs: extra logit rows (after the sampled ones) for the prompt
  // positions of this step's chunks, read after the forward pass, and sent
  // with the event of the step that ends the prompt.
  void add_prompt_logprob_rows(const Schedule& schedule);
  void read_prompt_logprobs(const Schedule& schedule, size_t first_row);
  void send_prompt_logprobs(Request& request);
  // Ends one sequence for `reason` (an error, an abort): its held-back text
  // is output, then end_sequence.
  void finish_sequence(SequenceState& s, FinishReason reason);
  // Ends one sequence whose text is final (append_output_token): records the
  // reason, frees its blocks and counts it.
  void end_sequence(SequenceState& s, FinishReason reason, std::string stop_reason, bool stop_reason_is_token);
  // Beam requests whose beams all have this step's rows expand, prune and fork.
  void advance_beams();
  void count_finished(FinishReason reason);
  void publish_and_retire();
  void update_stats(double step_s, double forward_s, double sample_s, int64_t preemptions);

  Model& model_;
  const Tokenizer& tokenizer_;
  EngineOptions options_;
  kernels::ThreadPool pool_;
  kernels::Context ctx_;
  std::unique_ptr<StepBackend> backend_;  // the forward pass and the sampler on ctx_.device
  KvStorage storage_;
  BlockPool blocks_;
  KvCacheManager kv_;
  Scheduler scheduler_;
  PrefillPacing prefill_pacing_;
  Speculator speculator_;

  // Engine-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<Request>> live_;
  std::vector<Request*> touched_;  // requests with deltas this step
  ForwardBatch batch_;
  std::vector<float> beam_row_;  // [vocab] a beam's raw logits, on the host
  std::vector<float> prompt_row_;  // [vocab] a prompt position's logits, on the host
  std::unique_ptr<JsonTokenMask> json_mask_;  // built at the first JSON-mode request
  std::unique_ptr<grammar::GrammarTokenMask> grammar_mask_;  // built at the first structured-output request
  std::vector<std::vector<uint8_t>> row_masks_;  // [row][vocab] this step's JSON-mode masks
  std::vector<size_t> chunk_first_row_;  // this step's batch row of each chunk's first token
  uint64_t next_seq_id_ = 1;
  std::string device_lost_;  // why the device can run nothing more (empty while it can)
  int64_t prompt_tokens_ = 0;      // over all requests taken in
  int64_t generation_tokens_ = 0;  // over all sequences

  // Shared with other threads.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Request>> incoming_;
  uint64_t next_request_id_ = 1;
  bool accepting_ = true;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point abort_deadline_ = std::chrono::steady_clock::time_point::max();
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace nucleus

// Beam search for one request (vLLM's use_beam_search, v0 semantics with its
// length_penalty and early_stopping), run on the engine's ordinary decode steps:
// every live beam is a sequence in the scheduler; forked beams share their
// parent's KV blocks (KvCacheManager::fork: the shared partial block is copied
// on its first write) and pruned beams release theirs, so no KV is ever copied
// whole.
//
// THE SEARCH (width W = BeamSearchOptions::width, at least the n results wanted)
//   1. Each live beam decodes its last token; its raw logit row is read back
//      to the host (StepBackend::read_logits, on any device), goes through the
//      host sampler's stages 0-4 (allowed/bad ids, logit_bias, min_tokens,
//      penalties: each beam keeps its own penalty state) and sampling/beam_score.h turns it
//      into its 2W best candidate tokens by log_softmax. Nothing is sampled:
//      temperature must be 0, and the request's seed plays no part.
//   2. When every beam has its row (a preempted beam is recomputed first), the
//      2W best (beam, token) pairs by cumulative logprob become children (ties:
//      the better-ranked beam, then the lower token id).
//   3. A child ends (as a sampled sequence would, in this order) on an EOS
//      (unless ignore_eos) or a stop token id (finish "stop", the token kept in
//      `tokens` but not in the text, nor in the scored length), on a stop string
//      (finish "stop", text cut as usual), or at max_tokens / the context
//      (finish "length"). Ended children join the finished candidates, of which
//      the W best by score are kept.
//   4. The search stops when no child is still running, or when W finished
//      candidates exist and the early_stopping rule says none can improve
//      (sampling/beam_score.h); otherwise the W best running children are the
//      next beams: a parent's first kept child continues in the parent's
//      sequence, its other kept children fork from it, parents with none are
//      dropped.
//   5. The n best finished candidates are returned in one final event, one
//      delta each, index 0 the best (fewer than n only when the whole search had
//      fewer distinct continuations, e.g. allowed_token_ids with one id). Each
//      delta carries the candidate's cumulative_logprob (the sum of its tokens'
//      logprobs, a final EOS included) and beam_score; with params.logprobs >= 0
//      its per-token logprobs (rank, top alternatives) come from the same
//      distribution as the scores, whatever logprobs_mode says.
// Results stream only at the end (nothing is final before); an abort frees every
// beam's blocks at the next step, as for any request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/detokenizer.h"
#include "engine/generation_errors.h"
#include "engine/generation_request.h"
#include "text/stop_strings.h"
#include "sampling/beam_score.h"
#include "sampling/sampler.h"

namespace nucleus {

class KvCacheManager;
class Scheduler;
class Tokenizer;
struct Request;
struct SequenceState;

// At submission, after max_tokens is resolved: checks the beam options and
// that W beams fit the whole KV cache at once (throws InvalidRequest), and
// turns speculation off for the request.
void prepare_beam_request(GenerationRequest& spec, int64_t cache_blocks, int block_size);

// What the search needs from the engine core, for one advance().
struct BeamEnv {
  KvCacheManager& kv;
  Scheduler& scheduler;
  const Tokenizer& tokenizer;
  uint64_t& next_seq_id;
  int64_t context_length;
};

class BeamSearch {
 public:
  // The request's first sequence (seqs[0]) is the root beam.
  explicit BeamSearch(Request& request);

  // A beam's raw logit row of this step [vocab] (modified: the host sampler's
  // stages 0-4 run on it with `input`, the row input the engine built).
  void take_row(const SequenceState& beam, float* row, int64_t vocab, const sampling::RowInput& input);
  // Every live beam has its row: advance() can run.
  bool ready() const;

  struct Outcome {
    int64_t decoded = 0;  // beam tokens consumed by this advance
    bool done = false;    // the request's final event is in request.event
  };
  Outcome advance(BeamEnv& env);

 private:
  struct Beam {
    SequenceState* s = nullptr;  // owned by request.seqs
    double cum_logprob = 0;
    std::vector<TokenLogprob> logprobs;  // per output token, when reported
    std::string text;                    // final text so far
    bool has_row = false;
    std::vector<sampling::BeamCandidate> candidates;  // of this step's row
  };
  struct Finished {
    std::vector<int32_t> tokens;  // output tokens
    std::vector<TokenLogprob> logprobs;
    std::string text;
    double cum_logprob = 0;
    double score = 0;
    FinishReason finish = FinishReason::kNone;
    std::string stop_reason;
    bool stop_reason_is_token = false;
  };
  struct Child;
  struct Pick {  // a (beam, candidate) pair and its cumulative logprob
    int beam;
    size_t cand;
    double cum;
  };

  std::vector<Pick> best_pairs() const;
  Finished finished_from(const Beam& parent, const Child& child) const;
  bool should_stop(const std::vector<Child>& running, size_t num_finished, const BeamEnv& env) const;
  Child make_child(const Beam& parent, const sampling::BeamCandidate& c, double cum, const BeamEnv& env) const;
  TokenLogprob logprob_of(const Beam& parent, const sampling::BeamCandidate& c) const;
  void continue_with(std::vector<Child>& kept, BeamEnv& env);
  Outcome finish(BeamEnv& env, int64_t decoded, const GenerationError& error = {});

  Request& request_;
  int width_;
  sampling::Sampler host_sampler_{nullptr};  // stages 0-4 of beam rows, on the engine thread
  std::vector<Beam> beams_;
  std::vector<Finished> finished_;  // the width best, best first
};

}  // namespace nucleus

// Engine-internal state of a request and of each of its sequences, and the
// mailbox a RequestHandle reads from. Only the engine thread touches Request
// and SequenceState; the mailbox (RequestHandle::Shared) is the one object
// shared with the caller's thread, behind its own mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "text/detokenizer.h"
#include "engine/generation_errors.h"
#include "engine/generation_request.h"
#include "engine/sequence.h"
#include "engine/spec_pacing.h"
#include "text/stop_strings.h"
#include "sampling/grammar/grammar_state.h"
#include "sampling/json_grammar.h"
#include "sampling/penalties.h"

namespace nucleus {

class BeamSearch;

struct RequestHandle::Shared {
  std::mutex mutex;
  std::condition_variable ready;
  std::optional<RequestEvent> pending;  // coalesced events not yet read
  bool finished = false;                // the done event was published
  std::atomic<bool> aborted{false};

  // Engine side: merges `event` into what the reader has not taken yet.
  void publish(RequestEvent event);
};

struct Request;

// As vLLM (v1): stop strings are looked for once a sequence has more than
// min_tokens output tokens (num_output counts the newest), the first token
// that EOS and stop ids may be too.
inline bool may_stop_on_strings(int64_t num_output, const GenerationRequest& spec) {
  return num_output > spec.params.min_tokens;
}

struct SequenceState {
  Sequence seq;
  Request* request = nullptr;
  int index = 0;  // 0 .. n-1
  sampling::PenaltyState penalties;
  Detokenizer detokenizer;
  StopStringMatcher stops;
  FinishReason finish = FinishReason::kNone;
  // Draft length and back-off from how this sequence's drafts fared.
  SpecPacing spec_pacing;
  // JSON mode (ResponseFormat::kJsonObject): the recognizer after this sequence's output.
  std::optional<sampling::JsonState> json;
  // Structured output (GenerationRequest::grammar): the automaton after this sequence's output.
  std::optional<grammar::GrammarState> grammar;
  // Set when the grammar fails at run time: the sequence ends with it. Too
  // ambiguous to follow is the request's fault (param: the grammar's
  // parameter); a sampled token it refuses (which the mask should prevent) is
  // the engine's.
  GenerationError grammar_error;

  SequenceState(const Tokenizer& tokenizer, DecodeOptions decode) : detokenizer(tokenizer, decode) {}
};

struct Request {
  // Out of line (engine_core.cc, the owner of requests), where BeamSearch is a
  // complete type: beam_search.h includes this header, not the other way round.
  Request();
  ~Request();

  uint64_t id = 0;
  GenerationRequest spec;
  uint64_t seed = 0;
  std::shared_ptr<RequestHandle::Shared> mailbox;
  std::vector<std::unique_ptr<SequenceState>> seqs;  // seqs[0] is created at submit; the rest fork after the prompt
  int num_finished = 0;
  Usage usage;
  RequestEvent event;  // deltas of the current step, published at its end
  std::unique_ptr<BeamSearch> beam;  // set for beam search (spec.beam): it owns the choice of tokens
  // spec.prompt_logprobs >= 0: entry p is prompt token p + 1's, filled as the
  // prompt is computed (again, identically, after a preemption), sent once.
  std::vector<TokenLogprob> prompt_logprobs;
  bool prompt_logprobs_sent = false;
};

}  // namespace nucleus
